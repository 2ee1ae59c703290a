"""The database store: SQLite by default (one process), PostgreSQL for several workers, one code path.

:class:`SqlStore` implements :class:`storage.base.ConversationStore`. Each ``transact`` is a single
transaction: record the update id, load the row locked, run ``decide``, save, count (the statements
are :meth:`SqlStore._steps`, whatever runs them). On PostgreSQL it runs on the event loop over
psycopg's async connections (:mod:`storage.pg_async`), every round trip awaited, and locks the row
with ``SELECT … FOR UPDATE``. On SQLite every transaction starts with ``BEGIN IMMEDIATE`` and so
holds the single write lock from the start; the per-update one runs on the event loop thread when
that lock is free at once (a few indexed statements and a commit that does not wait for the disk)
and in a worker thread when another process holds it. Either way the event loop never waits on the
database. Everything else (purge, forget, counters, figures) runs synchronously through SQLAlchemy
in a worker thread (``asyncio.to_thread``).

Privacy: rows hold codes only. A record is checked by ``validate`` (the content) before it is
written, keys must look like :func:`storage.base.chat_key` output, the engine hides SQL parameters
in its errors, and :class:`StoreUnavailable` messages name the error type only.

Schema: :func:`migrate` brings the database to the Alembic head (or, with ``upgrade=False``, raises
:class:`PendingMigration` naming what is missing). The store never creates tables itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import fcntl
import json
import logging
import re
import sqlite3
import threading
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import URL, Connection, Engine, Table, UpdateBase, create_engine, event, func, make_url, text
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Session, SQLModel, col, delete, select

from storage.base import ABANDONED, FINISHED, Decision, Duplicate, Record, StoreUnavailable
from storage.tables import (
    CHECK_ID_LENGTH,
    CODE_LENGTH,
    CONTENT_VERSION_LENGTH,
    STATE_LENGTH,
    ConversationRow,
    FeedbackCountRow,
    LookupCountRow,
    OutcomeCountRow,
    ProcessedUpdate,
)

if TYPE_CHECKING:
    from alembic.config import Config

    from storage.pg_async import AsyncPg

T = TypeVar("T")
log = logging.getLogger(__name__)

DEFAULT_URL = "sqlite:///data/cse-triage.sqlite3"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Telegram redelivers an unacknowledged update for at most 24 hours; keep ids twice as long.
PURGE_BATCH = 200  # expired rows deleted per transaction
UPDATE_ID_RETENTION = dt.timedelta(hours=48)
SQLITE_BUSY_TIMEOUT_SECONDS = 5.0
# Bytes the WAL is cut back to after a checkpoint (it is truncated to 0 after every deletion).
SQLITE_JOURNAL_SIZE_LIMIT = 1024 * 1024
PG_CONNECT_TIMEOUT_SECONDS = 5
# Held while migrating on PostgreSQL, so workers starting together upgrade the schema one at a time.
_MIGRATION_LOCK = 0x6373_6574_7269_6167
# Alembic keeps its migration context in module globals: one migration at a time per process.
_ALEMBIC = threading.Lock()
# A retry is needed only when two workers create the same new conversation at once.
_ATTEMPTS = 3
_KEY = re.compile(r"[0-9a-f]{64}")


class PendingMigration(RuntimeError):
    """The database schema is behind this version of the code."""

    def __init__(self, revisions: list[str]) -> None:
        self.revisions = revisions
        super().__init__(
            "database schema is not up to date; pending migration(s): "
            + ", ".join(revisions)
            + " (start with schema upgrades enabled to apply them)"
        )


class _KeyTaken(Exception):
    """Another worker inserted this conversation between our lock attempt and our insert."""


def database_url(url: str) -> URL:
    """Parse a database URL, mapping ``postgresql://`` (and ``postgres://``) to the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        if not parsed.database or parsed.database == ":memory:" or parsed.database.startswith("file:"):
            raise ValueError("SQLite needs a file path (sqlite:///path/to/file.sqlite3)")
        return parsed
    raise ValueError(f"unsupported database driver {parsed.drivername!r}: use sqlite:/// or postgresql://")


def make_engine(url: str) -> Engine:
    """A synchronous engine with the settings every part of cse-triage relies on.

    ``pool_pre_ping`` replaces connections that died while the database was away, so the store
    recovers by itself; ``hide_parameters`` keeps stored values out of error messages and logs.
    """
    parsed = database_url(url)
    if parsed.get_backend_name() == "sqlite":
        assert parsed.database is not None
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # sqlite3's ``timeout`` is SQLite's busy timeout; a ``?timeout=`` in the URL overrides it.
        sqlite_args: dict[str, Any] = (
            {} if "timeout" in parsed.query else {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
        )
        engine = create_engine(parsed, connect_args=sqlite_args, pool_pre_ping=True, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    pg_args: dict[str, Any] = (
        {} if "connect_timeout" in parsed.query else {"connect_timeout": PG_CONNECT_TIMEOUT_SECONDS}
    )
    return create_engine(parsed, connect_args=pg_args, pool_pre_ping=True, hide_parameters=True)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Turn off sqlite3's own implicit transactions so that the "begin" hook below decides how
    # each transaction starts (and so DDL in migrations is transactional too).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL never corrupts the file; a power cut may lose the last few taps only.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Deleted means gone from the disk: freed content is overwritten with zeros, and the WAL is
        # truncated after a deletion (SqlStore._wipe_wal) and kept small otherwise.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute(f"PRAGMA journal_size_limit={SQLITE_JOURNAL_SIZE_LIMIT}")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    # Take the write lock at the start: a deferred transaction that reads and then writes can fail
    # with SQLITE_BUSY at the write, without the busy timeout helping.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


_CODE = re.compile(r"[a-z0-9_]{1,32}")


def _codes_only(value: Any) -> bool:
    """True when every key and text in ``value`` is a short lower-case code (never free text):
    the cheap privacy check on everything written, whatever the caller's own validation."""
    if value is None or isinstance(value, bool | int):
        return True
    if isinstance(value, str):
        return _CODE.fullmatch(value) is not None
    if isinstance(value, list):
        return all(_codes_only(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _CODE.fullmatch(k) and _codes_only(v) for k, v in value.items())
    return False


def _unavailable(err: Exception) -> StoreUnavailable:
    cause = getattr(err, "orig", None) or err
    return StoreUnavailable(f"database unavailable ({type(cause).__name__})")


@contextlib.contextmanager
def _mapped_errors() -> Iterator[None]:
    """The database being away, locked or broken becomes :class:`StoreUnavailable`."""
    try:
        yield
    except (OperationalError, InterfaceError, PoolTimeout, sqlite3.OperationalError) as err:
        # ``from None``: the chained DBAPI error can quote the statement.
        raise _unavailable(err) from None
    except sqlite3.DatabaseError as err:
        # The held SQLite connection (driver errors, not wrapped by SQLAlchemy): a file that is not,
        # or no longer, a database is unavailable too; a constraint or programming error is a bug.
        if type(err) is sqlite3.DatabaseError:
            raise _unavailable(err) from None
        raise
    except DBAPIError as err:
        if err.connection_invalidated:
            raise _unavailable(err) from None
        raise


def _short(field: str, value: str, limit: int) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise ValueError(f"record refused: {field} must be a code of at most {limit} characters")
    return value


class SqlStore:
    """Conversations, update ids and anonymous counters in a SQL database."""

    def __init__(
        self, *, url: str, ttl: dt.timedelta, validate: Callable[[dict[str, Any]], object] | None = None
    ) -> None:
        self.ttl = ttl
        self.validate = validate
        self.engine = make_engine(url)
        self.backend = self.engine.dialect.name
        self._hot = _HotSql(self.backend)
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
                except _KeyTaken:
                    continue
                if deleted:  # an outcome, a cancel: the check's codes must leave the disk too
                    self._wipe_wal()
                return decision
            raise StoreUnavailable("conversation row contended; try again")

        if self._pg is not None:
            for _ in range(_ATTEMPTS):
                try:
                    decision, _deleted = await self._pg.transaction(self._steps(key, update_id, decide))
                except _KeyTaken:
                    continue
                return decision
            raise StoreUnavailable("conversation row contended; try again")
        async with self._sqlite_turn():  # SQLite (database_url admits only the two)
            with _mapped_errors():
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

                result = self._statements(run, key, update_id, decide)
                driver.execute("COMMIT")
            except BaseException as err:
                with contextlib.suppress(sqlite3.Error):
                    driver.execute("ROLLBACK")
                if isinstance(err, _KeyTaken):
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
                    session.exec(self._increment(OutcomeCountRow, keys))
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
        _short("lookup name", name, CODE_LENGTH)

        def work() -> None:
            with Session(self.engine) as session, session.begin():
                session.exec(self._increment(LookupCountRow, {"day": day, "name": name}))

        await self._run(work)

    async def count_feedback(self, *, day: dt.date, level: str, blocks: int, content_version: str) -> None:
        """Count one "Report a problem with this advice", anonymously."""
        _short("level", level, CODE_LENGTH)
        _short("content version", content_version, CONTENT_VERSION_LENGTH)
        if not 0 <= blocks < 2**31:
            raise ValueError("blocks out of range")
        keys = {"day": day, "level": level, "blocks": blocks, "content_version": content_version}

        def work() -> None:
            with Session(self.engine) as session, session.begin():
                session.exec(self._increment(FeedbackCountRow, keys))

        await self._run(work)

    async def feedback_counts(self, *, since: dt.date) -> list[tuple[dt.date, str, int, str, int]]:
        """(day, level, blocks, content version, count) for every day from ``since``, in order."""

        def work() -> list[tuple[dt.date, str, int, str, int]]:
            with Session(self.engine) as session:
                rows = session.exec(
                    select(FeedbackCountRow).where(col(FeedbackCountRow.day) >= since)
                ).all()
                return sorted((r.day, r.level, r.blocks, r.content_version, r.count) for r in rows)

        return await self._run(work)

    async def close(self) -> None:
        """Release connections (the store can still be used afterwards; it reconnects)."""

        if self._pg is not None:
            await self._pg.close()

        def release() -> None:
            self._drop_held()
            self.engine.dispose()

        await asyncio.to_thread(self._serialised(release))

    # -- anonymous figures -----------------------------------------------------------------------
    async def outcome_counts(self, *, since: dt.date) -> list[tuple[dt.date, str, str, str, int]]:
        """(day, level, content version, service, count) for every day from ``since``, in order."""

        o = OutcomeCountRow
        group = (col(o.day), col(o.level), col(o.content_version), col(o.service))

        def work() -> list[tuple[dt.date, str, str, str, int]]:
            with Session(self.engine) as session:
                rows = session.execute(
                    sa_select(*group, func.sum(col(o.count)))
                    .where(col(o.day) >= since)
                    .group_by(*group)
                    .order_by(*group)
                ).all()
                return [(day, level, version, service, int(n)) for day, level, version, service, n in rows]

        return await self._run(work)

    async def channel_counts(self, *, since: dt.date) -> list[tuple[dt.date, str, int]]:
        """(day, channel, count) of finished checks for every day from ``since``, in order."""
        o = OutcomeCountRow
        group = (col(o.day), col(o.channel))

        def work() -> list[tuple[dt.date, str, int]]:
            with Session(self.engine) as session:
                rows = session.execute(
                    sa_select(*group, func.sum(col(o.count)))
                    .where(col(o.day) >= since, col(o.level) != ABANDONED)
                    .group_by(*group)
                    .order_by(*group)
                ).all()
                return [(day, channel, int(n)) for day, channel, n in rows]

        return await self._run(work)

    async def lookup_counts(self, *, since: dt.date) -> list[tuple[dt.date, str, int]]:
        """(day, lookup name, count) for every day from ``since``, in order."""

        def work() -> list[tuple[dt.date, str, int]]:
            with Session(self.engine) as session:
                rows = session.exec(
                    select(LookupCountRow)
                    .where(col(LookupCountRow.day) >= since)
                    .order_by(col(LookupCountRow.day), col(LookupCountRow.name))
                ).all()
                return [(r.day, r.name, r.count) for r in rows]

        return await self._run(work)

    # -- inside the worker thread ----------------------------------------------------------------
    def _wipe_wal(self) -> None:
        """SQLite: copy the WAL into the database and truncate it to nothing, so a deleted check's
        codes and key do not linger in ``-wal`` (``secure_delete`` has zeroed them in the file).

        Runs after the deleting transaction committed; a failure is logged, never raised.
        """
        if self.backend != "sqlite":
            return
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            busy = cursor.fetchone()
            cursor.close()
            if busy and busy[0]:
                log.warning("SQLite WAL not truncated after a deletion: a reader was busy")
        except sqlite3.Error as err:
            log.warning("SQLite WAL not truncated after a deletion: %s", type(err).__name__)
        finally:
            raw.close()

    def _transact(
        self, key: str, update_id: int | None, decide: Callable[[Record | None], Decision]
    ) -> tuple[Decision, bool]:
        """One transaction; returns the decision and whether a conversation row was deleted.

        The per-update path runs a few prepared statements through the driver (``_HotSql``): no
        ORM session, identity map, flush or deep copies. SQLModel still defines the tables and
        Alembic the schema; the statements name the same columns.
        """
        with self.engine.begin() as connection:

            def run(statement: str, params: dict[str, Any]) -> Any:
                result = connection.exec_driver_sql(statement, params)
                return result.first() if result.returns_rows else None

            return self._statements(run, key, update_id, decide)

    def _statements(
        self,
        run: Callable[[str, dict[str, Any]], Any],
        key: str,
        update_id: int | None,
        decide: Callable[[Record | None], Decision],
    ) -> tuple[Decision, bool]:
        """The statements of one ``transact``, inside a transaction the caller opened; ``run``
        executes one and returns its first row (or None)."""
        steps = self._steps(key, update_id, decide)
        try:
            statement = next(steps)
            while True:
                statement = steps.send(run(*statement))
        except StopIteration as done:
            result: tuple[Decision, bool] = done.value
            return result

    def _steps(
        self, key: str, update_id: int | None, decide: Callable[[Record | None], Decision]
    ) -> Generator[tuple[str, dict[str, Any]], Any, tuple[Decision, bool]]:
        """The statements of one ``transact``, whatever runs them: yields each (statement,
        parameters) and is sent its first row (or None); returns the decision and whether a
        conversation row was deleted. Run synchronously by :meth:`_statements` (SQLite, and
        PostgreSQL in a thread) and asynchronously by :class:`storage.pg_async.AsyncPg`."""
        sql, put = self._hot, self._hot.param
        deleted = False
        now = dt.datetime.now(dt.UTC)
        # The update id is recorded first, in the same transaction: a concurrent worker with the
        # same update id waits on the primary key and then sees the conflict.
        if update_id is not None:
            seen = {"update_id": update_id, "seen_at": put(now)}
            if (yield sql.record_update, seen) is None:
                raise Duplicate(update_id)
        row = yield sql.load, {"key": key}
        expired = row is not None and sql.when(row[6]) <= now
        current = None if row is None or expired else sql.record(row)
        decision = decide(current)
        if decision.changed:
            if decision.record is None:
                if row is not None:
                    yield sql.delete, {"key": key}
                    deleted = True
            else:
                values = self._row_values(decision.record, now)
                values = {**values, "data": sql.json(values["data"]), "key": key}
                values["updated_at"], values["expires_at"] = put(now), put(values["expires_at"])
                if row is None:
                    if (yield sql.insert, values) is None:
                        raise _KeyTaken
                else:
                    yield sql.update, values
        if decision.count is not None:
            c = decision.count
            count = {
                "day": sql.day(c.day),
                "level": _short("level", c.level, CODE_LENGTH),
                "content_version": _short("content version", c.content_version, CONTENT_VERSION_LENGTH),
                "service": _short("service", c.service, CODE_LENGTH),
                "channel": _short("channel", c.channel, CODE_LENGTH),
            }
            yield sql.count_outcome, count
        return decision, deleted

    def _row_values(self, record: Record, now: dt.datetime) -> dict[str, Any]:
        """The columns for ``record``, after checking that it holds content codes only."""
        data = record.data
        if self.validate is not None:
            try:
                loaded = self.validate(data)
            except Exception as err:
                raise ValueError(
                    f"record refused: data does not fit the content ({type(err).__name__})"
                ) from None
            # A validator returning the rebuilt object lets us refuse keys it silently ignored.
            to_dict = getattr(loaded, "to_dict", None)
            if callable(to_dict) and to_dict() != data:
                raise ValueError("record refused: data holds fields the content does not define")
        if not _codes_only(data):
            raise ValueError("record refused: data holds something other than codes")
        state = data.get("state") if isinstance(data, dict) else None
        if not state:
            raise ValueError("record refused: data has no state code")
        return {
            "check_id": _short("check id", record.check_id, CHECK_ID_LENGTH),
            "version": int(record.version),
            "state": _short("state", state, STATE_LENGTH),
            "data": data,
            "anchor_message_id": record.anchor_message_id,
            "content_version": _short("content version", record.content_version, CONTENT_VERSION_LENGTH),
            "service": _short("service", record.service, CODE_LENGTH),
            "updated_at": now,
            "expires_at": now + self.ttl,
        }

    def _increment(self, model: type[SQLModel], keys: dict[str, Any]) -> UpdateBase:
        """Insert a counter row at 1, or add 1 to it."""
        table = _table(model)
        bump = {"count": table.c["count"] + 1}
        if self.backend == "postgresql":
            pg = postgresql.insert(table).values(**keys, count=1)
            return pg.on_conflict_do_update(index_elements=list(keys), set_=bump)
        lite = sqlite.insert(table).values(**keys, count=1)
        return lite.on_conflict_do_update(index_elements=list(keys), set_=bump)

    async def _run(self, work: Callable[[], T]) -> T:
        """``work`` in a worker thread; on SQLite after taking this process's turn."""
        if self.backend != "sqlite":
            return await self._in_thread(work)
        async with self._sqlite_turn():
            return await self._in_thread(work)

    async def _in_thread(self, work: Callable[[], T]) -> T:
        with _mapped_errors():
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


def _table(model: type[SQLModel]) -> Table:
    return SQLModel.metadata.tables[str(model.__tablename__)]


class _HotSql:
    """The per-update statements of one dialect, run through the driver (``exec_driver_sql``).

    Parameters are named (``:name`` for sqlite3, ``%(name)s`` for psycopg). Timestamps and JSON are
    converted exactly as the SQLAlchemy column types do, so rows written here and rows read or
    purged through SQLAlchemy agree: SQLite keeps naive UTC text ``YYYY-MM-DD HH:MM:SS.ffffff``,
    PostgreSQL ``timestamptz``; ``data`` is JSON text.
    """

    # Written once for SQLite (":name" parameters); PostgreSQL gets "%(name)s", a row lock on the
    # load and a JSON cast on ``data``.
    RECORD_UPDATE = (
        "INSERT INTO processed_update (update_id, seen_at) VALUES (:update_id, :seen_at) "
        "ON CONFLICT DO NOTHING RETURNING update_id"
    )
    LOAD = (
        "SELECT check_id, version, state, data, anchor_message_id, content_version, expires_at, service "
        "FROM conversation WHERE key = :key"
    )
    DELETE = "DELETE FROM conversation WHERE key = :key"
    INSERT = (
        "INSERT INTO conversation (key, data, check_id, version, state, anchor_message_id, "
        "content_version, service, updated_at, expires_at) VALUES (:key, :data, :check_id, :version, "
        ":state, :anchor_message_id, :content_version, :service, :updated_at, :expires_at) "
        "ON CONFLICT DO NOTHING RETURNING key"
    )
    UPDATE = (
        "UPDATE conversation SET data = :data, check_id = :check_id, version = :version, state = :state, "
        "anchor_message_id = :anchor_message_id, content_version = :content_version, "
        "service = :service, updated_at = :updated_at, expires_at = :expires_at WHERE key = :key"
    )
    COUNT_OUTCOME = (
        "INSERT INTO outcome_count (day, level, content_version, service, channel, count) "
        "VALUES (:day, :level, :content_version, :service, :channel, 1) "
        "ON CONFLICT (day, level, content_version, service, channel) "
        "DO UPDATE SET count = outcome_count.count + 1"
    )

    def __init__(self, backend: str) -> None:
        self.backend = backend
        pg = backend == "postgresql"

        def dialect(statement: str) -> str:
            if not pg:
                return statement
            return re.sub(r":(\w+)", r"%(\1)s", statement.replace(":data,", "CAST(:data AS JSON),"))

        self.record_update = dialect(self.RECORD_UPDATE)
        self.load = dialect(self.LOAD) + (" FOR UPDATE" if pg else "")
        self.delete = dialect(self.DELETE)
        self.insert = dialect(self.INSERT)
        self.update = dialect(self.UPDATE)
        self.count_outcome = dialect(self.COUNT_OUTCOME)

    def param(self, when: dt.datetime) -> Any:
        """A timestamp as the column type stores it."""
        utc = when.astimezone(dt.UTC)
        if self.backend == "postgresql":
            return utc
        # "YYYY-MM-DD HH:MM:SS.ffffff", as SQLAlchemy's SQLite DateTime writes it (microseconds always)
        return utc.replace(tzinfo=None).isoformat(" ", "microseconds")

    def day(self, day: dt.date) -> Any:
        """A date as the column type stores it (SQLite: ISO text, as SQLAlchemy writes it)."""
        return day if self.backend == "postgresql" else day.isoformat()

    def when(self, value: Any) -> dt.datetime:
        """A stored timestamp, aware and in UTC."""
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)

    def json(self, data: Any) -> str:
        return json.dumps(data, separators=(",", ":"))

    def record(self, row: Any) -> Record:
        """A :class:`Record` from a row of ``load`` (``data`` parsed once, no copies)."""
        data = json.loads(row[3]) if isinstance(row[3], str) else row[3]
        return Record(
            data=data,
            check_id=row[0],
            version=row[1],
            anchor_message_id=row[4],
            content_version=row[5],
            service=row[7],
        )


# -- schema ----------------------------------------------------------------------------------------
def _alembic_config(connection: Connection) -> Config:
    from alembic.config import Config  # imported only when a migration is needed (start-up time)

    config = Config()
    # ConfigParser interpolates '%', which a path may contain.
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = connection
    return config


def pending_migrations(connection: Connection) -> list[str]:
    """The revisions (``"0002 (what it does)"``) between the database's schema and the code's head."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config(connection))
    current = tuple(MigrationContext.configure(connection).get_current_heads())
    if set(current) == set(script.get_heads()):
        return []
    revisions = script.iterate_revisions("heads", current or "base")
    return [f"{rev.revision} ({(rev.doc or '').strip()})" for rev in reversed(list(revisions))]


def _code_head() -> str | None:
    """The newest migration's revision id, read from the scripts' text (Alembic not loaded);
    None when the scripts do not form one line of revisions."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        source = script.read_text(encoding="utf-8")
        revision = re.search(r'^revision\s*=\s*"([^"]+)"', source, flags=re.MULTILINE)
        parent = re.search(r'^down_revision[^=]*=\s*"([^"]+)"', source, flags=re.MULTILINE)
        if revision:
            revisions.add(revision.group(1))
        if parent:
            parents.add(parent.group(1))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _at_head(engine: Engine) -> bool:
    """Whether the database is already at the code's head revision (one cheap query)."""
    head = _code_head()
    if head is None:
        return False
    with engine.connect() as connection:
        try:
            found = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
        except (OperationalError, ProgrammingError):  # no table yet: a new database
            return False
    return list(found) == [head]


@contextlib.contextmanager
def _sqlite_migration_lock(engine: Engine) -> Iterator[None]:
    """Processes starting together on one SQLite file migrate one at a time.

    Switching a new file to WAL and creating tables can meet another process's lock outside the
    busy handler's reach; an OS file lock beside the database serialises them (PostgreSQL uses an
    advisory lock instead).
    """
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def migrate(url: str, *, upgrade: bool = True) -> None:
    """Bring the schema to the latest revision, or with ``upgrade=False`` refuse if it is behind.

    Raises :class:`PendingMigration` naming the missing revision(s), and :class:`StoreUnavailable`
    when the database cannot be reached.
    """
    engine = make_engine(url)
    try:
        # The check runs under the same file lock as the migration: a process opening a new
        # SQLite file while another switches it to WAL can meet a lock the busy handler misses.
        with _sqlite_migration_lock(engine):
            if _at_head(engine):  # the usual start: nothing to do, and no need to load Alembic
                return
        from alembic import command

        with _ALEMBIC, _sqlite_migration_lock(engine), engine.begin() as connection:
            if upgrade:
                if connection.dialect.name == "postgresql":
                    connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK})
                command.upgrade(_alembic_config(connection), "head")
            else:
                pending = pending_migrations(connection)
                if pending:
                    raise PendingMigration(pending)
    except (OperationalError, InterfaceError) as err:
        raise _unavailable(err) from None
    finally:
        engine.dispose()


class BackupError(RuntimeError):
    """A backup could not be made (the message says why, never what the database holds)."""


def backup(url: str, destination: Path) -> str:
    """Back up the database while the bot runs; return a line saying what was done.

    SQLite: ``VACUUM INTO`` writes a consistent, compacted copy in one transaction (the bot keeps
    working; a write waits at most the busy timeout). The copy is a plain SQLite file: restore by
    stopping the bot and putting it in place of the database file (or pointing DATABASE_URL at
    it). PostgreSQL: the database server owns its backups, so this returns the ``pg_dump`` command
    to run (no password in it: use PGPASSWORD or ~/.pgpass) and changes nothing.
    """
    parsed = database_url(url)
    if parsed.get_backend_name() == "postgresql":
        conn = " ".join(
            f"--{flag}={value}"
            for flag, value in (
                ("host", parsed.host),
                ("port", parsed.port),
                ("username", parsed.username),
                ("dbname", parsed.database),
            )
            if value
        )
        return f"pg_dump {conn} --format=custom --file={destination}"
    destination = Path(destination)
    if destination.exists():
        raise BackupError(f"{destination} already exists; choose a new file name")
    destination.parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    try:
        # VACUUM cannot run inside a transaction: use the driver connection, outside SQLAlchemy's.
        raw = engine.raw_connection()
        try:
            raw.driver_connection.execute("VACUUM INTO ?", (str(destination),))  # type: ignore[union-attr]
        finally:
            raw.close()
    except (OperationalError, InterfaceError, sqlite3.Error) as err:
        raise BackupError(f"backup failed: {type(err).__name__}") from None
    finally:
        engine.dispose()
    return f"backed up to {destination}"
