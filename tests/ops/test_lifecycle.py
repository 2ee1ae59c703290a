"""The composition root owns the lifecycle: every long-running mode runs the same runtime (the
purge sweep, the contacts reload, metrics; bot/runtime.py), the clock keeps the contacts file's
time zone, and start-up, ``validate`` and a reload check the contacts file one way."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import secrets
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot import wiring
from bot.cli import main
from bot.config import Settings
from bot.reload import reload_contacts
from bot.runtime import Runtime
from flows.contacts import EXAMPLE_CONTACTS
from testkit.deploy import filled_contacts
from testkit.helpers import eventually

AUCKLAND = ZoneInfo("Pacific/Auckland")  # twelve or thirteen hours from London: never the same date at 12:30


def in_zone(folder: Path, zone: str) -> Path:
    """The example contacts file, declaring ``zone`` as its time zone."""
    data = yaml.safe_load(EXAMPLE_CONTACTS.read_text(encoding="utf-8"))
    data["timezone"] = zone
    path = folder / "contacts.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder of its own (no .env), a SQLite file, a run folder and a usable secret; none of the
    settings a developer's shell may hold."""
    monkeypatch.chdir(tmp_path)
    for name in ("CONTACTS_FILE", "METRICS_PORT", "TELEGRAM_BOT_TOKEN", "BOT_MODE", "WEB_ENABLED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'checks.db'}")
    monkeypatch.setenv("RUN_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("CHAT_KEY_SECRET", secrets.token_urlsafe(32))
    return tmp_path


async def test_the_clock_keeps_the_contacts_files_time_zone(environment: Path) -> None:
    settings = Settings(contacts_file=in_zone(environment, "Pacific/Auckland"))
    fixed = wiring.service(settings, "2026-12-05 12:30")
    real = wiring.service(settings)
    example = wiring.service(Settings())  # the shipped example says Europe/London
    try:
        assert fixed.clock() == dt.datetime(2026, 12, 5, 12, 30, tzinfo=AUCKLAND)
        assert real.clock().tzinfo == AUCKLAND
        assert example.clock().tzinfo == ZoneInfo("Europe/London")
    finally:
        for service in (fixed, real, example):
            await service.store.close()


def test_the_web_page_runs_the_purge_sweep(environment: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`cse-triage web` hands its server the runtime, and that runtime sweeps (at start-up, then
    every few minutes), closing the store when the server stops."""
    handed: list[Any] = []
    monkeypatch.setattr("bot.web.server.serve", lambda app, **options: handed.append(options["lifecycle"]))
    assert main(["web", "--port", "8089"]) == 0
    (runtime,) = handed
    assert isinstance(runtime, Runtime) and runtime.kind == "web" and runtime.service.channel == "web"
    swept: list[dt.datetime] = []
    closed: list[bool] = []
    store = runtime.service.store

    async def purge(*, now: dt.datetime) -> int:
        swept.append(now)
        return 0

    async def close() -> None:
        closed.append(True)

    monkeypatch.setattr(store, "purge", purge)
    monkeypatch.setattr(store, "close", close)

    async def serving() -> None:
        async with runtime:
            await eventually(lambda: swept, "the purge sweep")
        assert closed == [True]

    asyncio.run(serving())


def test_start_up_validate_and_reload_name_the_same_contacts_problems(
    environment: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """One check, three callers: a bad edit is named in the same words by the channel that
    refuses to start on it, by `validate`, and by the reload that keeps the last good contacts."""
    path = filled_contacts(environment)
    service = wiring.service(Settings(contacts_file=path))
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["social_work"]["office"]["phone"] = "01632 960009"  # a drama number
    data["organisation"] = ""  # and a broken field: every problem is named at once all the same
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    monkeypatch.setenv("CONTACTS_FILE", str(path))

    assert main(["web"]) == 2
    refused = [
        line.strip().removeprefix("CONTACTS_FILE ") for line in capsys.readouterr().err.splitlines()[1:]
    ]
    assert main(["validate"]) == 1
    validated = [line for line in capsys.readouterr().err.splitlines() if line.startswith(f"{path}: ")]
    with caplog.at_level(logging.ERROR, logger="bot.reload"):
        assert reload_contacts(service, path) is False
    reloaded = [r.getMessage().split("kept: ", 1)[1] for r in caplog.records]
    assert len(refused) == 2 and any("organisation" in line for line in refused), refused
    assert any("social_work.office.phone" in line for line in refused), refused
    assert refused == validated == reloaded
    asyncio.run(service.store.close())
