"""The database store: :class:`SqlStore`, over SQLite (one process) or PostgreSQL (several workers).

:class:`SqlStore` implements :class:`storage.base.ConversationStore`. Each ``transact`` is a single
transaction: record the update id, load the row locked, run ``decide``, save, count (the statements
are :func:`storage.sql.statements.steps`, whatever runs them). It has three paths. On PostgreSQL it
runs on the event loop over psycopg's async connections (:mod:`storage.pg_async`), every round trip
awaited, and locks the row with ``SELECT … FOR UPDATE``. On SQLite every transaction starts with
``BEGIN IMMEDIATE`` and so holds the single write lock from the start; the per-update one runs on
the event loop thread when that lock is free at once (a few indexed statements and a commit that
does not wait for the disk) and in a worker thread when another process holds it. Either way the
event loop never waits on the database. Everything else (purge, forget, counters, figures) runs
synchronously through SQLAlchemy in a worker thread (``asyncio.to_thread``).

Privacy: rows hold codes only (every write is checked by :mod:`storage.sql.rows`), keys must look
like :func:`storage.base.chat_key` output, and a deleted conversation leaves the disk too
(:func:`storage.sql.engine.wipe_wal`). The store never creates tables: :func:`storage.sql.schema.migrate`
does.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
import sqlite3
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from sqlmodel import Session, col, delete, select

from storage.base import ABANDONED, FINISHED, Decision, Record, StoreUnavailable
from storage.sql import counters
from storage.sql.counters import increment
from storage.sql.engine import PG_CONNECT_TIMEOUT_SECONDS, database_url, make_engine, mapped_errors, wipe_wal
from storage.sql.rows import short
from storage.sql.statements import HotSql, KeyTaken, Steps, run_steps, steps
from storage.tables import (
    CODE_LENGTH,
    CONTENT_VERSION_LENGTH,
    ConversationRow,
    FeedbackCountRow,
    LookupCountRow,
    OutcomeCountRow,
    ProcessedUpdate,
)

if TYPE_CHECKING:
    from storage.pg_async import AsyncPg

T = TypeVar("T")

PURGE_BATCH = 200  # expired rows deleted per transaction
# Telegram redelivers an unacknowledged update for at most 24 hours; keep ids twice as long.
UPDATE_ID_RETENTION = dt.timedelta(hours=48)
# A retry is needed only when two workers create the same new conversation at once.
_ATTEMPTS = 3
_KEY = re.compile(r"[0-9a-f]{64}")


class SqlStore:
    """Conversations, update ids and anonymous counters in a SQL database."""

    def __init__(self, *, url: str, ttl: dt.timedelta) -> None:
        self.ttl = ttl
        self.engine = make_engine(url)
        self.backend = self.engine.dialect.name
        self._hot = HotSql(self.backend)
        self._sqlite_lock = threading.Lock()
        # SQLite: the per-update transaction runs on the event loop thread, on one driver
        # connection kept out of the pool (busy timeout 0), whenever the write lock is free at once
        # (see ``_on_loop``); otherwise in a worker thread through the engine, as before.
        self._held: Any = None
        # SQLite: every call takes its turn on this lock (made for the running event loop) before it
        # runs on the loop or in a thread, so calls queue here rather than in threads.
        self._turn: asyncio.Lock | None = None
        self._turn_loop: asyncio.AbstractEventLoop | None = None
        # PostgreSQL: the per-update transaction on the event loop, over async connections.
        self._pg: AsyncPg | None = None
        if self.backend == "postgresql":
            from storage.pg_async import AsyncPg, libpq_conninfo

            self._pg = AsyncPg(libpq_conninfo(database_url(url), PG_CONNECT_TIMEOUT_SECONDS))

    # -- the ConversationStore contract ----------------------------------------------------------
    async def transact(
        self, *, key: str, update_id: int | None, decide: Callable[[Record | None], Decision]
    ) -> Decision:
        """Load (locked) → decide → save, atomically. Raise Duplicate for a seen update id.

        ``decide`` runs while the row is locked, on the event loop thread or in a worker thread; it
        must not touch the event loop. If it raises, nothing is written and the update id is not
        recorded.
        """
        if not _KEY.fullmatch(key):
            raise ValueError("conversation key must be a chat_key() digest")

        def work() -> Decision:
            for _ in range(_ATTEMPTS):
                try:
                    decision, deleted = self._transact(key, update_id, decide)
                except KeyTaken:
                    continue
                if deleted:  # an outcome, a cancel: the check's codes must leave the disk too
                    self._wipe_wal()
                return decision
            raise StoreUnavailable("conversation row contended; try again")

        if self._pg is not None:
            for _ in range(_ATTEMPTS):
                try:
                    decision, _deleted = await self._pg.transaction(self._steps(key, update_id, decide))
                except KeyTaken:
                    continue
                return decision
            raise StoreUnavailable("conversation row contended; try again")
        async with self._sqlite_turn():  # SQLite (database_url admits only the two)
            with mapped_errors():
                done = self._on_loop(key, update_id, decide)
            if done is None:
                return await self._in_thread(work)
            decision, deleted = done
            if deleted:  # an outcome, a cancel: the check's codes must leave the disk too
                await self._in_thread(self._wipe_wal)
            return decision

    def _on_loop(
        self, key: str, update_id: int | None, decide: Callable[[Record | None], Decision]
    ) -> tuple[Decision, bool] | None:
        """SQLite: the transaction right here on the event loop thread, or None to say "run it in a
        worker thread instead" (the caller does), having written nothing.

        Handing each update to a worker thread cost more CPU than the transaction itself (a third of
        the bot's CPU per update in `make bench`). Here it never waits: the in-process lock is only
        tried, and the held connection's busy timeout is 0, so when another thread or process holds
        the write lock, ``BEGIN IMMEDIATE`` fails at once and the update waits in a worker thread
        (with the usual busy timeout) instead. What runs here is a few indexed statements and a
        commit, which in WAL mode with ``synchronous=NORMAL`` does not wait for the disk. Deleting
        (and so wiping the WAL, which does) happens in a worker thread afterwards.
        """
        if not self._sqlite_lock.acquire(blocking=False):
            return None
        try:
            if self._held is None:
                held = self.engine.raw_connection()  # the connect hook has set the pragmas
                assert isinstance(held.driver_connection, sqlite3.Connection)
                held.driver_connection.execute("PRAGMA busy_timeout=0")  # never wait on the loop
                self._held = held
            driver: sqlite3.Connection = self._held.driver_connection
            try:
                driver.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as err:
                if err.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                    return None
                raise
            try:

                def run(statement: str, params: dict[str, Any]) -> Any:
                    return driver.execute(statement, params).fetchone()

                result = run_steps(run, self._steps(key, update_id, decide))
                driver.execute("COMMIT")
            except BaseException as err:
                with contextlib.suppress(sqlite3.Error):
                    driver.execute("ROLLBACK")
                if isinstance(err, KeyTaken):
                    return None
                raise
            return result
        except sqlite3.Error:
            self._drop_held()
            raise
        finally:
            self._sqlite_lock.release()

    def _drop_held(self) -> None:
        """Discard the held connection (never back to the pool: its busy timeout is 0)."""
        held, self._held = self._held, None
        if held is not None:
            with contextlib.suppress(Exception):
                held.invalidate()

    async def forget(self, *, key: str) -> int:
        """Delete everything kept for this chat key; return how many rows went."""

        def work() -> int:
            with Session(self.engine) as session, session.begin():
                result = session.exec(delete(ConversationRow).where(col(ConversationRow.key) == key))
                gone = int(result.rowcount)
            self._wipe_wal()
            return gone

        return await self._run(work)

    async def purge(self, *, now: dt.datetime) -> int:
        """Delete expired conversations and update ids older than 48 h; return how many conversations went.

        In batches of ``PURGE_BATCH`` rows, each its own short transaction, so requests take their
        turn in between: 200,000 expired rows never hold the write lock for long (issue 21 §4)."""
        if now.tzinfo is None:
            raise ValueError("purge needs an aware datetime")
        total = 0
        while True:
            gone = await self._run(lambda: self._purge_batch(now))
            total += gone
            if gone < PURGE_BATCH:
                return total

    def _purge_batch(self, now: dt.datetime) -> int:
        with Session(self.engine) as session, session.begin():
            expired = session.exec(
                select(ConversationRow)
                .where(col(ConversationRow.expires_at) <= now)
                .limit(PURGE_BATCH)
                .with_for_update(skip_locked=self.backend == "postgresql")
            ).all()
            for row in expired:
                # An expired check that had an answer and never finished: counted, anonymously,
                # as abandoned (a finished one the web kept was counted when it finished; one
                # never answered is no check left, issue 21 §3).
                if row.state != FINISHED and row.version > 1:
                    keys = {
                        "day": now.date(),
                        "level": ABANDONED,
                        "content_version": row.content_version,
                        "service": row.service,
                        "channel": "",
                    }
                    session.exec(increment(self.backend, OutcomeCountRow, keys))
            if expired:
                keys_gone = [row.key for row in expired]
                session.exec(delete(ConversationRow).where(col(ConversationRow.key).in_(keys_gone)))
            if len(expired) < PURGE_BATCH:
                session.exec(
                    delete(ProcessedUpdate).where(col(ProcessedUpdate.seen_at) < now - UPDATE_ID_RETENTION)
                )
        if expired:
            self._wipe_wal()
        return len(expired)

    async def count_lookup(self, *, day: dt.date, name: str) -> None:
        """Count one use of a lookup, anonymously."""
        short("lookup name", name, CODE_LENGTH)
        await self._run(lambda: counters.count(self.engine, LookupCountRow, {"day": day, "name": name}))

    async def count_feedback(self, *, day: dt.date, level: str, blocks: int, content_version: str) -> None:
        """Count one "Report a problem with this advice", anonymously."""
        short("level", level, CODE_LENGTH)
        short("content version", content_version, CONTENT_VERSION_LENGTH)
        if not 0 <= blocks < 2**31:
            raise ValueError("blocks out of range")
        keys = {"day": day, "level": level, "blocks": blocks, "content_version": content_version}
        await self._run(lambda: counters.count(self.engine, FeedbackCountRow, keys))

    async def close(self) -> None:
        """Release connections (the store can still be used afterwards; it reconnects)."""

        if self._pg is not None:
            await self._pg.close()

        def release() -> None:
            self._drop_held()
            self.engine.dispose()

        await asyncio.to_thread(self._serialised(release))

    # -- anonymous figures (storage.sql.counters) ----------------------------------------------
    async def feedback_counts(self, *, since: dt.date) -> list[tuple[dt.date, str, int, str, int]]:
        return await self._run(lambda: counters.feedback_counts(self.engine, since))

    async def outcome_counts(self, *, since: dt.date) -> list[tuple[dt.date, str, str, str, int]]:
        return await self._run(lambda: counters.outcome_counts(self.engine, since))

    async def channel_counts(self, *, since: dt.date) -> list[tuple[dt.date, str, int]]:
        return await self._run(lambda: counters.channel_counts(self.engine, since))

    async def lookup_counts(self, *, since: dt.date) -> list[tuple[dt.date, str, int]]:
        return await self._run(lambda: counters.lookup_counts(self.engine, since))

    # -- inside the worker thread ----------------------------------------------------------------
    def _wipe_wal(self) -> None:
        wipe_wal(self.engine)

    def _transact(
        self, key: str, update_id: int | None, decide: Callable[[Record | None], Decision]
    ) -> tuple[Decision, bool]:
        """One transaction; returns the decision and whether a conversation row was deleted.

        The statements are :func:`storage.sql.statements.steps`, run through the driver.
        """
        with self.engine.begin() as connection:

            def run(statement: str, params: dict[str, Any]) -> Any:
                result = connection.exec_driver_sql(statement, params)
                return result.first() if result.returns_rows else None

            return run_steps(run, self._steps(key, update_id, decide))

    def _steps(self, key: str, update_id: int | None, decide: Callable[[Record | None], Decision]) -> Steps:
        """The statements of one ``transact`` (:func:`storage.sql.statements.steps`), whatever runs
        them: synchronously here and in ``_on_loop``, asynchronously by
        :class:`storage.pg_async.AsyncPg`."""
        return steps(self._hot, self.ttl, key, update_id, decide)

    async def _run(self, work: Callable[[], T]) -> T:
        """``work`` in a worker thread; on SQLite after taking this process's turn."""
        if self.backend != "sqlite":
            return await self._in_thread(work)
        async with self._sqlite_turn():
            return await self._in_thread(work)

    async def _in_thread(self, work: Callable[[], T]) -> T:
        with mapped_errors():
            return await asyncio.to_thread(self._serialised(work))

    def _sqlite_turn(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._turn is None or self._turn_loop is not loop:
            self._turn, self._turn_loop = asyncio.Lock(), loop
        return self._turn

    def _serialised(self, work: Callable[[], T]) -> Callable[[], T]:
        """On SQLite, one transaction at a time in this process.

        SQLite has one writer anyway; queueing here instead of in its busy handler (which sleeps in
        growing steps up to 100 ms) cut p99 by a third in `make bench`. PostgreSQL runs in parallel.
        """
        if self.backend != "sqlite":
            return work

        def locked() -> T:
            with self._sqlite_lock:
                return work()

        return locked
