"""Contacts changes without an outage: SIGHUP (or `cse-triage reload`) re-reads the contacts file,
a good file is used from the next message on, and a bad edit is refused with its problems logged
while the last good contacts stay in use."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot import wiring
from bot.reload import signal_workers
from bot.service import CheckService
from bot.telegram.app import build_application
from flows.contacts import load_directory
from testkit.botapi import FakeRequest, FakeTelegram
from testkit.deploy import REAL_LOOKING, filled_contacts
from testkit.helpers import eventually, running
from testkit.memory_store import MemoryStore
from testkit.shipped import shipped_content
from testkit.telegram_harness import Bot, settings

ROOT = Path(__file__).resolve().parents[2]
CHAT = 6660001
NOW = dt.datetime(2026, 12, 2, 10, 0)  # office hours: /contacts shows the office line
STIRLING = "01786 471177"  # a verified public number (Stirling social work), never dialled


def service_on(path: Path) -> CheckService:
    """A check service on the contacts file at ``path``, in memory."""
    return wiring.check_service(
        store=MemoryStore(), directory=load_directory(path), content=shipped_content(), clock=lambda: NOW
    )


def office_number(text: str) -> str:
    """The social work office's number as shown by /contacts, as national digits and spaces."""
    match = re.search(r"Falkirk Council Social Work Services: (?:<b>)?(\+?[\d ]*\d)", text)
    assert match, text
    digits = re.sub(r"\D", "", match.group(1))
    digits = "0" + digits[2:] if digits.startswith("44") else digits
    return f"{digits[:5]} {digits[5:]}"


def edit(path: Path, **office: str) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["social_work"]["office"].update(office)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


async def test_sighup_reloads_good_contacts_and_keeps_the_last_good_on_a_bad_edit(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = filled_contacts(tmp_path)
    edit(path, phone=REAL_LOOKING)
    service = service_on(path)
    directory = service.directory
    api = FakeTelegram()
    run_dir = tmp_path / "run"
    app = build_application(settings(contacts_file=path, run_dir=run_dir), service, request=FakeRequest(api))
    async with running(app):
        bot = Bot(app, api, service)
        await bot.send(CHAT, "/contacts")
        assert office_number(bot.last_text(CHAT)) == REAL_LOOKING

        edit(path, phone=STIRLING)
        os.kill(os.getpid(), signal.SIGHUP)
        await eventually(lambda: service.directory is not directory, "the reload")
        await bot.send(CHAT, "/contacts")
        assert office_number(bot.last_text(CHAT)) == STIRLING

        # A bad edit (a drama number) is refused, named in the log, and changes nothing.
        good = service.directory
        edit(path, phone="01632 960009")
        with caplog.at_level(logging.ERROR, logger="bot.reload"):
            assert signal_workers(run_dir) == 1, "`cse-triage reload` finds this process"
            await eventually(lambda: "reload refused" in caplog.text, "the refusal")
        assert "social_work.office.phone" in caplog.text
        assert service.directory is good
        await bot.send(CHAT, "/contacts")
        assert office_number(bot.last_text(CHAT)) == STIRLING
    assert not list(run_dir.glob("*.pid")), "the pid file goes with the process"


@pytest.mark.slow
def test_reload_command_refuses_a_bad_file_before_signalling(tmp_path: Path) -> None:
    path = filled_contacts(tmp_path)
    edit(path, phone="01632 960009")
    env = {**os.environ, "CONTACTS_FILE": str(path), "RUN_DIR": str(tmp_path / "run")}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "reload"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1
    assert "not reloaded" in proc.stderr and "social_work.office.phone" in proc.stderr


def test_a_change_of_services_needs_a_restart(tmp_path: Path) -> None:
    path = filled_contacts(tmp_path)
    service = service_on(path)
    directory = service.directory
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["services"] = data["services"][:2]
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(ValueError, match="restart"):
        service.use_directory(load_directory(path))
    assert service.directory is directory
