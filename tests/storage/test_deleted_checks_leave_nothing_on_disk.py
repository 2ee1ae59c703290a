"""Deleted means gone from the disk (issue 12, §4).

After /forget, after an outcome and after a TTL purge, the SQLite tables are empty of that chat;
its key and answer codes must not be left in the raw bytes of the database file, its WAL or its
shared-memory file either.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from storage.sql.engine import SQLITE_JOURNAL_SIZE_LIMIT
from storage.sql.schema import migrate
from storage.sql.store import SqlStore
from testkit.checked_store import ContentCheckedStore
from testkit.telegram_harness import Bot, make_service, running_bot

CODES = [b"13_15", b"controlling_adult", b"assault"]
TICKS = ("Controlling adult", "Assault")


def on_disk(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists())


def stored_key(db: Path) -> bytes:
    with sqlite3.connect(db) as conn:
        (key,) = conn.execute("SELECT key FROM conversation").fetchone()
    return str(key).encode()


async def open_check(bot: Bot, chat: int) -> None:
    """A check left open, with an age band and two indicators ticked (stored with each tick)."""
    await bot.send(chat, "/check")
    for label in ("No", "13 to 15", "Education"):
        await bot.tap(chat, label)
    ticked: set[str] = set()
    while len(ticked) < len(TICKS):
        labels = [t for _, t, _ in bot.api.buttons(chat)]
        assert any("Done" in label for label in labels), f"the check ended before {TICKS} were ticked"
        for tick in TICKS:
            if tick not in ticked and any(tick in label for label in labels):
                await bot.tap(chat, tick)
                ticked.add(tick)
        if len(ticked) < len(TICKS):
            await bot.tap(chat, "Done")


@pytest.mark.parametrize("how", ["forget", "outcome", "purge"])
async def test_a_deleted_check_leaves_no_code_or_key_in_the_database_files(tmp_path: Path, how: str) -> None:
    db = tmp_path / "cse.db"
    url = f"sqlite:///{db}"
    migrate(url)
    flow = make_service().flow
    store = ContentCheckedStore(url=url, ttl=dt.timedelta(hours=24), validate=flow.load)
    chat = 61_000_001
    async with running_bot(store) as bot:
        await open_check(bot, chat)
        key = stored_key(db)
        before = on_disk(db)
        assert key in before and all(code in before for code in CODES), "the test must see them first"
        if how == "forget":
            await bot.send(chat, "/forget")
        elif how == "outcome":
            for _ in range(20):  # Done on each step; "when was the assault" gets its first option
                labels = [t for _, t, _ in bot.api.buttons(chat)]
                if any("Done" in t for t in labels):
                    await bot.tap(chat, "Done")
                elif "In the last 7 days" in labels:
                    await bot.tap(chat, "In the last 7 days")
                else:
                    break
            outcome = bot.texts(chat)
            assert "999" in outcome and bot.service.flow.content.texts.contacts_title in outcome
        else:
            assert await store.purge(now=dt.datetime.now(dt.UTC) + dt.timedelta(hours=25)) == 1
        after = on_disk(db)
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT count(*) FROM conversation").fetchone() == (0,)
        left = [value.decode() for value in (key, *CODES) if value in after]
        assert not left, f"after {how}, still on disk: {left}"
        assert not Path(f"{db}-wal").exists() or Path(f"{db}-wal").stat().st_size == 0


def test_every_store_connection_zeroes_deleted_content_and_bounds_the_wal(tmp_path: Path) -> None:
    """Set on each connection, not left to how SQLite was built (Debian's defaults secure_delete
    on; python.org's and macOS's builds do not)."""
    url = f"sqlite:///{tmp_path / 'cse.db'}"
    migrate(url)
    store = SqlStore(url=url, ttl=dt.timedelta(hours=1))
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_size_limit").scalar() == SQLITE_JOURNAL_SIZE_LIMIT
    store.engine.dispose()
