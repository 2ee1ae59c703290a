"""The web page as a real process (`cse-triage web` on 127.0.0.1, a free port, a SQLite file) and
Chromium from the OS packages driven by Playwright: shared by the browser tests.

No browser is ever downloaded: Chromium comes from `apt-get install chromium`
(scripts/ensure-chromium.sh) and is launched with ``executable_path``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from testkit.helpers import ROOT, free_port

SECRET = "web-tests-" + "k7Qm2Zr9Lw4Xv8Bn3Jd6Ht1Fy5Gc0Ps"
ARTIFACTS = ROOT / "tests" / "artifacts"


def chromium() -> str | None:
    """The OS Chromium, or None (the browser tests then skip, naming the install script)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class WebServer:
    """`python -m bot web` as a child process; its stdout and stderr go to ``log``."""

    def __init__(self, workdir: Path, *args: str, **env: str) -> None:
        self.workdir = workdir
        self.args = args
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = workdir / "web.sqlite3"
        self.log = workdir / "web.log"
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in ("TELEGRAM_BOT_TOKEN", "CONTACTS_FILE")},
            "CHAT_KEY_SECRET": SECRET,
            "DATABASE_URL": f"sqlite:///{self.db}",
            "LOG_LEVEL": "DEBUG",  # the leak scan reads the most the service would ever log
            "PYTHONPATH": str(ROOT),
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "web", "--port", str(self.port), *self.args],
                cwd=self.workdir,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"web server exited: {self.log.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as r:  # noqa: S310
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.05)  # polling for the server to listen, bounded by the deadline
        raise TimeoutError("web server did not start within 30 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def get(self, path: str) -> str:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=5) as r:  # noqa: S310 - 127.0.0.1
            return str(r.read().decode())

    def restart(self) -> None:
        self.stop()
        self.start()
