"""Nothing typed is kept: full checks through the Telegram handlers on SQLite and PostgreSQL, with
identifying text typed along the way, then the database and every log line are searched. Also:
the database going away mid-check and coming back."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from storage.sql.schema import migrate
from storage.sql.store import SqlStore
from testkit.checked_store import ContentCheckedStore
from testkit.db_fixtures import Database
from testkit.telegram_harness import running_bot

IDENTIFYING = ["Jane Smith", "14/03/2012", "12 High Street", "07700 900123", "Falkirk High School"]
CHATS = [987654321, 987654322, 987654323]


def store_for(db: Database) -> ContentCheckedStore:
    migrate(db.url)
    return ContentCheckedStore(url=db.url, ttl=dt.timedelta(hours=24))


@pytest.mark.slow  # pg_dump
async def test_typed_details_never_reach_the_database_or_the_logs(
    database: Database,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    store = store_for(database)
    async with running_bot(store) as bot:
        store.validate = bot.service.flow.load
        for n, chat in enumerate(CHATS):
            await bot.send(chat, "/check")
            await bot.send(chat, IDENTIFYING[n])
            await bot.tap(chat, "No")
            for text in IDENTIFYING:
                await bot.send(chat, text)
            if n < 2:  # two finish, one stays open mid-check
                await bot.tap(chat, "16 or 17")
                await bot.tap(chat, "Health (NHS)")
                await bot.tap(chat, "Controlling adult in their life")
                for _ in range(6):
                    await bot.tap(chat, "Done")
                assert "Share this concern today" in bot.last_text(chat)
    dump = database.dump()
    assert "987654323" not in dump
    for secret in [*IDENTIFYING, *map(str, CHATS), "Practitioner"]:
        assert secret not in dump, secret
        assert secret not in caplog.text, secret
    assert "urgent" in dump, "the anonymous counter is there"


@pytest.mark.slow  # pg_ctl stop and start
async def test_database_down_gives_the_emergency_line_then_the_check_resumes(database: Database) -> None:
    """PostgreSQL stopped, or SQLite locked by another process: the safety net, then the check goes on."""
    migrate(database.url)
    store = SqlStore(url=database.impatient_url, ttl=dt.timedelta(hours=24))
    chat = CHATS[0]
    async with running_bot(store) as bot:
        await bot.send(chat, "/check")
        await bot.tap(chat, "No")
        with database.away():
            await bot.tap(chat, "16 or 17")
            text = bot.last_text(chat)
            assert "cannot continue right now" in text and "999" in text
            assert "Child Protection" in text, "the designated contact, from memory"
        await bot.tap(chat, "16 or 17")
        assert "Which service do you work in" in bot.last_text(chat)
