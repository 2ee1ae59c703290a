"""A council's first deployment, as deploy/README.md walks it: the bundle built by `make dist`,
installed by its install.sh with no package index, then the settings file, the contacts file,
`validate` and the web page answering; a damaged bundle is refused and changes nothing. And the
first minutes of anyone trying it: `.env.example` copied as its header says starts the check,
`make web` without a secret ends on the clear message, `--help` names the settings."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bot.config import Settings
from testkit.deploy import filled_contacts
from testkit.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow  # each test starts processes


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any setting of ours (the test's own settings come from files)."""
    names = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k not in names}
    env.update(extra)
    return env


def index_reachable() -> bool:
    try:
        with socket.create_connection(("pypi.org", 443), timeout=5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make dist` into a temporary folder: the wheel, the wheelhouse, install.sh, SHA256SUMS."""
    if not index_reachable():
        reason = "the package index is not reachable, so `make dist` cannot fetch the wheels"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        ["make", "-s", "dist", f"DIST_DIR={out}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (folder,) = [p for p in out.iterdir() if p.is_dir()]
    assert (out / f"{folder.name}.tar.gz").is_file()
    return folder


def install(bundle: Path, prefix: Path) -> subprocess.CompletedProcess[str]:
    # No pip settings of this machine, and no way to an index: an empty proxy that refuses.
    env = clean_env(PIP_INDEX_URL="http://127.0.0.1:9/", https_proxy="http://127.0.0.1:9/")
    env = {k: v for k, v in env.items() if not k.startswith("PIP_") or k == "PIP_INDEX_URL"}
    return subprocess.run(
        [str(bundle / "install.sh"), str(prefix)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def env_file(path: Path, prefix: str = "") -> dict[str, str]:
    """KEY=VALUE lines (after ``prefix``), as systemd reads an EnvironmentFile (or Environment=)."""
    pairs = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith(prefix) or line.startswith("#") or "=" not in line:
            continue
        items = line[len(prefix) :].split() if prefix else [line]  # Environment=A=1 B=2
        pairs.update(item.partition("=")[::2] for item in items)
    return pairs


def wait_for_page(url: str, proc: subprocess.Popen[str], deadline: float) -> str:
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the web page stopped: " + (proc.stderr.read() if proc.stderr else "")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - 127.0.0.1 only
                return str(response.read().decode("utf-8"))
        except OSError:
            time.sleep(0.1)  # not listening yet: ask again until the deadline
    raise AssertionError(f"{url} did not answer in time")


def test_the_bundle_installs_with_no_index_and_serves_the_page(bundle: Path, tmp_path: Path) -> None:
    prefix = tmp_path / "opt"
    proc = install(bundle, prefix)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    binary = prefix / ".venv" / "bin" / "cse-triage"
    assert (prefix / ".venv").is_symlink() and binary.exists()
    again = install(bundle, prefix)  # the same version again leaves the release in use alone
    assert again.returncode == 0 and "already installed and in use" in again.stdout

    # The deployment's own files, as deploy/README.md says: the settings file from
    # deploy/env.example with its secret and contacts filled in, and what the unit adds (its state
    # and runtime folders, here under tmp_path).
    etc = tmp_path / "etc"
    etc.mkdir()
    settings = env_file(bundle / "deploy" / "env.example")
    assert not {"DATABASE_URL", "RUN_DIR"} & settings.keys(), "it would override the unit's own"
    port = free_port()
    settings.update(
        CHAT_KEY_SECRET=secrets.token_urlsafe(32),
        CONTACTS_FILE=str(filled_contacts(etc)),
        WEB_PORT=str(port),
    )
    unit = env_file(bundle / "deploy" / "cse-triage-web.service", prefix="Environment=")
    settings["DATABASE_URL"] = unit["DATABASE_URL"].replace("/var/lib/cse-triage", str(tmp_path / "state"))
    settings["RUN_DIR"] = unit["RUN_DIR"].replace("/run", str(tmp_path / "run"))
    work = tmp_path / "work"  # the units' WorkingDirectory: holds no .env
    work.mkdir()
    env = clean_env(**settings)
    check = subprocess.run(
        [str(binary), "validate"], cwd=work, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert check.returncode == 0, check.stderr
    web = subprocess.Popen(
        [str(binary), "web"], cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        page = wait_for_page(f"http://127.0.0.1:{port}/", web, time.monotonic() + 60)
        assert "999" in page
    finally:
        web.send_signal(signal.SIGTERM)
        web.wait(timeout=30)

    # A damaged bundle is refused before anything changes; the release in use stays.
    damaged = tmp_path / "damaged"
    shutil.copytree(bundle, damaged)
    (damaged / "VERSION").write_text("9.9.9\n")
    proc = install(damaged, prefix)
    assert proc.returncode != 0 and "SHA256SUMS" in proc.stderr
    shutil.copy(bundle / "VERSION", damaged / "VERSION")
    wheel = next((damaged / "wheelhouse").glob("*.whl"))
    wheel.write_bytes(wheel.read_bytes() + b"\0")
    proc = install(damaged, prefix)
    assert proc.returncode != 0 and "SHA256SUMS" in proc.stderr
    assert os.readlink(prefix / ".venv") == f"releases/{(bundle / 'VERSION').read_text().strip()}"
    assert [p.name for p in (prefix / "releases").iterdir()] == [(bundle / "VERSION").read_text().strip()]


def test_env_example_copied_as_its_header_says_starts_the_check(tmp_path: Path) -> None:
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        input="q\n",
        cwd=tmp_path,
        env=clean_env(PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "running the check in this terminal" in proc.stdout
    assert "Start the check" in proc.stdout


def test_make_web_without_a_secret_ends_on_the_clear_message() -> None:
    proc = subprocess.run(
        ["make", "-s", "web"],
        cwd=ROOT,
        env=clean_env(CHAT_KEY_SECRET="too-short"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "CHAT_KEY_SECRET: set a random value of at least 32 characters" in proc.stderr
    assert "make" not in proc.stderr and "Error" not in proc.stderr


def test_help_names_every_setting() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    named = set(re.findall(r"\b[A-Z][A-Z_]{2,}\b", proc.stdout))
    assert {name.upper() for name in Settings.model_fields} <= named
