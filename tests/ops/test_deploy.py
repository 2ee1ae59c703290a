"""The deployment kit in deploy/: systemd units that systemd accepts and that sandbox the service,
and a reverse-proxy config that nginx accepts, with the timeouts and secret header the webhook
needs. Each check runs with the real tool where it is installed and is skipped, with the reason
shown, where it is not."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = ["cse-triage.service", "cse-triage-webhook@.service", "cse-triage-web.service"]
BINARY = "/opt/cse-triage/.venv/bin/cse-triage"


def installed_units(tmp_path: Path) -> list[Path]:
    """The units as systemd would load them, with the program path pointing at a real binary
    (verify refuses a missing ExecStart) and the template instantiated on a port."""
    out = []
    for name in UNITS:
        text = (DEPLOY / name).read_text(encoding="utf-8").replace(BINARY, "/bin/true")
        target = tmp_path / name.replace("@.service", "@8441.service")
        target.write_text(text, encoding="utf-8")
        if "@" in name:
            (tmp_path / name).write_text(text, encoding="utf-8")
        out.append(target)
    return out


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
@pytest.mark.slow
def test_systemd_accepts_the_units_without_a_warning(tmp_path: Path) -> None:
    units = installed_units(tmp_path)
    proc = subprocess.run(
        ["systemd-analyze", "verify", *map(str, units)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    problems = [line for line in proc.stderr.splitlines() if str(tmp_path) in line]
    assert proc.returncode == 0 and not problems, proc.stderr


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
@pytest.mark.slow
def test_the_units_run_sandboxed_as_an_unprivileged_user(tmp_path: Path) -> None:
    for unit in installed_units(tmp_path):
        text = unit.read_text(encoding="utf-8")
        for setting in (
            "User=cse-triage",
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "PrivateTmp=yes",
            "Restart=on-failure",
            "CapabilityBoundingSet=\n",
        ):
            assert setting in text, (unit.name, setting)
        proc = subprocess.run(
            ["systemd-analyze", "security", "--offline=yes", str(unit)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", proc.stdout + proc.stderr)
        assert match, proc.stdout[-500:] + proc.stderr[-500:]
        assert float(match.group(1)) <= 2.0, f"{unit.name}: exposure {match.group(1)} (0 safest, 10 worst)"


@pytest.mark.skipif(
    shutil.which("nginx") is None or shutil.which("openssl") is None,
    reason="nginx or openssl is not installed",
)
@pytest.mark.slow
def test_nginx_accepts_the_proxy_config(tmp_path: Path) -> None:
    ssl = tmp_path / "ssl"
    ssl.mkdir()
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=bot.example.org",
            "-keyout",
            str(ssl / "privkey.pem"),
            "-out",
            str(ssl / "fullchain.pem"),
        ],
        capture_output=True,
        timeout=60,
        check=True,
    )
    site = (DEPLOY / "nginx.conf").read_text(encoding="utf-8").replace("/etc/ssl/cse-triage", str(ssl))
    (tmp_path / "site.conf").write_text(site, encoding="utf-8")
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n  include {tmp_path}/site.conf;\n}}\n",
        encoding="utf-8",
    )
    proc = subprocess.run(
        ["nginx", "-t", "-e", str(tmp_path / "error.log"), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_the_proxy_sets_the_timeouts_and_passes_the_secret_header() -> None:
    site = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    for directive in (
        "client_header_timeout",
        "client_body_timeout",
        "keepalive_timeout",
        "send_timeout",
        "proxy_read_timeout",
        "client_max_body_size",
    ):
        assert re.search(rf"^\s*{directive}\s+\S+;", site, flags=re.MULTILINE), directive
    assert "X-Telegram-Bot-Api-Secret-Token $http_x_telegram_bot_api_secret_token" in site
    assert "ssl_certificate " in site and "return 301 https://" in site


def test_the_image_installs_from_the_lock_and_runs_unprivileged() -> None:
    """No container runtime runs on this machine (see README): the image is held to the tested
    install instead: the same lock, hashes required, the code without its dependencies."""
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert "pip install --no-cache-dir --require-hashes -r requirements/runtime.lock" in dockerfile
    assert "--no-deps" in dockerfile
    assert re.search(r"^USER cse-triage$", dockerfile, flags=re.MULTILINE)
    lock = (ROOT / "requirements" / "runtime.lock").read_text(encoding="utf-8")
    pins = [line for line in lock.splitlines() if re.match(r"^[a-z0-9]", line, flags=re.IGNORECASE)]
    assert pins and all("==" in line for line in pins)
    assert lock.count("--hash=sha256:") >= len(pins)
    for needed in ("python-telegram-bot", "sqlalchemy", "psycopg", "prometheus-client"):
        assert any(line.lower().startswith(needed) for line in pins), needed


def test_compose_runs_postgres_and_two_webhook_workers_behind_the_proxy() -> None:
    import yaml

    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert "db" in services and services["db"]["image"].startswith("postgres:")
    workers = [s for name, s in services.items() if name.startswith("worker")]
    assert len(workers) == 2
    ports = sorted(w["environment"]["WEBHOOK_PORT"] for w in workers)
    site = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    for port in ports:
        assert w_mode(workers, port) == "webhook"
        assert f"server 127.0.0.1:{port}" in site, "the proxy's upstream names each worker"


def w_mode(workers: list[dict[str, dict[str, str]]], port: str) -> str:
    return next(w["environment"]["BOT_MODE"] for w in workers if w["environment"]["WEBHOOK_PORT"] == port)
