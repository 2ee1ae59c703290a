"""Contacts changes without an outage: reload the contacts file on SIGHUP, validating first.

A committee edits its contacts file while the bot runs, runs ``cse-triage validate``, then
``cse-triage reload`` (or ``systemctl reload``). Each running Telegram or web process re-reads the
file on SIGHUP (bot/runtime.py): a file that fails the same check as ``validate``
(bot/readiness.py) is refused with its problems logged, and the last good contacts stay in use,
so a bad edit never takes the bot down. (At start-up a bad file still stops the bot, as before,
so nothing runs on unchecked contacts.)

Each such process writes its pid to ``RUN_DIR`` so ``cse-triage reload`` can find every worker
on the host; under systemd, ``ExecReload`` sends the signal instead.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from pathlib import Path

from bot.readiness import check_contacts
from bot.service import CheckService

log = logging.getLogger(__name__)


def reload_contacts(service: CheckService, path: Path) -> bool:
    """Swap in the contacts file at ``path`` if it is good; keep the last good one otherwise."""
    checked = check_contacts(path)
    if not checked.fit or checked.directory is None:
        for line in checked.problems:
            log.error("contacts reload refused, last good contacts kept: %s", line)
        return False
    try:
        service.use_directory(checked.directory)
    except ValueError as err:
        log.error("contacts reload refused, last good contacts kept: %s", err)
        return False
    log.warning("contacts reloaded from %s", path)
    return True


def write_pid(run_dir: Path, kind: str = "telegram") -> Path | None:
    """Record this process (a Telegram or a web one) for ``cse-triage reload``; a read-only disk
    only costs that command."""
    path = run_dir / f"{kind}-{os.getpid()}.pid"
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{os.getpid()}\n", encoding="ascii")
    except OSError as err:
        log.warning(
            "cannot write %s (%s): `cse-triage reload` cannot see this process", path, type(err).__name__
        )
        return None
    return path


def remove_pid(path: Path | None) -> None:
    if path is not None:
        with contextlib.suppress(OSError):
            path.unlink()


def signal_workers(run_dir: Path) -> int:
    """Send SIGHUP to every live Telegram or web process recorded in ``run_dir``; return how many."""
    sent = 0
    for pid_file in sorted([*run_dir.glob("telegram-*.pid"), *run_dir.glob("web-*.pid")]):
        try:
            pid = int(pid_file.read_text(encoding="ascii").strip())
            os.kill(pid, signal.SIGHUP)
            sent += 1
        except (ValueError, ProcessLookupError):
            remove_pid(pid_file)  # left by a process that died without cleaning up
        except (OSError, PermissionError) as err:
            log.warning("cannot signal %s: %s", pid_file.name, type(err).__name__)
    return sent
