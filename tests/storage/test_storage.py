"""One behaviour suite for the SQL store, run against SQLite and against a real PostgreSQL server;
the contract part runs over the in-memory store of the tests (testkit/memory_store.py) as well, so a
test that passes on it says something about the real stores.

Covers the ConversationStore contract (round trip, version counter, duplicate update ids, outcome
counted and row deleted in one transaction, expiry and purge, forget), the privacy guards (content
validation, no free-text column), the Alembic schema, concurrency (asyncio tasks, and two OS
processes on one database), and the database going away and coming back.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import datetime as dt
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import JSON, String, inspect
from sqlmodel import SQLModel

import storage.sql.schema
from bot import wiring
from bot.config import Settings
from flows.machine import Flow
from storage.base import (
    DEFAULT_URL,
    ConversationStore,
    Decision,
    Duplicate,
    OutcomeCount,
    Record,
    StoreUnavailable,
    chat_key,
)
from storage.sql.engine import database_url, make_engine
from storage.sql.schema import PendingMigration, migrate
from storage.sql.store import SqlStore
from testkit.checked_store import ContentCheckedStore
from testkit.db_fixtures import Database, _provide
from testkit.memory_store import MemoryStore

ROOT = Path(__file__).resolve().parents[2]
BOT_ID, CHAT_ID = 7_700_000_001, 5_550_123_456
KEY = chat_key(b"test-secret", BOT_ID, CHAT_ID)
OTHER = chat_key(b"test-secret", BOT_ID, CHAT_ID + 1)
TTL = dt.timedelta(hours=24)
DAY = dt.date(2026, 12, 2)
TABLES = {"conversation", "processed_update", "outcome_count", "lookup_count", "feedback_count"}


@pytest.fixture
async def store(db_url: str, flow: Flow) -> AsyncIterator[SqlStore]:
    migrate(db_url)
    s = ContentCheckedStore(url=db_url, ttl=TTL, validate=flow.load)
    yield s
    await s.close()


@pytest.fixture
async def plain(db_url: str) -> AsyncIterator[SqlStore]:
    """A store without content validation, for counting tests that store a tick list."""
    migrate(db_url)
    s = SqlStore(url=db_url, ttl=TTL)
    yield s
    await s.close()


@dataclass
class Backend:
    """A store under the contract, and a way to open another one over the same data with its own
    time to live (an expired row is written through a store whose rows expire at once)."""

    name: str
    store: ConversationStore
    opened: list[ConversationStore] = field(default_factory=list)
    url: str = ""

    def another(self, ttl: dt.timedelta, flow: Flow) -> ConversationStore:
        if isinstance(self.store, MemoryStore):
            other = copy.copy(self.store)  # shares the rows, the update ids and the counters
            other.ttl = ttl
            return other
        opened = ContentCheckedStore(url=self.url, ttl=ttl, validate=flow.load)
        self.opened.append(opened)
        return opened


CONTRACT = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres), "memory"]


async def _backend(
    request: pytest.FixtureRequest, tmp_path: Path, validate: Callable[[dict[str, object]], object] | None
) -> AsyncIterator[Backend]:
    if request.param == "memory":
        yield Backend("memory", MemoryStore(ttl=TTL))
        return
    databases: Iterator[Database] = _provide(request, tmp_path, str(request.param))
    db = next(databases)
    migrate(db.url)
    b = Backend(db.name, ContentCheckedStore(url=db.url, ttl=TTL, validate=validate), url=db.url)
    try:
        yield b
    finally:
        for s in [b.store, *b.opened]:
            await s.close()
        for _ in databases:  # drops the PostgreSQL database
            pass


@pytest.fixture(params=CONTRACT)
async def backend(request: pytest.FixtureRequest, tmp_path: Path, flow: Flow) -> AsyncIterator[Backend]:
    """The ConversationStore contract's three stores: SQLite, PostgreSQL and the tests' MemoryStore."""
    async for b in _backend(request, tmp_path, flow.load):
        yield b


@pytest.fixture(params=CONTRACT)
async def plain_backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ConversationStore]:
    """The same three stores, without content validation (for counting tests that store ticks)."""
    async for b in _backend(request, tmp_path, None):
        yield b.store


def started(flow: Flow) -> Record:
    conv = flow.new()
    assert flow.fire(conv, "start")
    return Record(conv.to_dict(), "chk12345", 1, 777, flow.content.meta.version)


def put(record: Record | None) -> Decision:
    return Decision(record)


def saving(record: Record) -> Callable[[Record | None], Decision]:
    """A decide function that saves ``record`` whatever is stored."""
    return lambda _: Decision(record)


async def load(s: ConversationStore, key: str = KEY) -> Record | None:
    seen: list[Record | None] = []

    def decide(record: Record | None) -> Decision:
        seen.append(record)
        return Decision(record, changed=False)

    await s.transact(key=key, update_id=None, decide=decide)
    return seen[0]


def tick(name: str) -> Callable[[Record | None], Decision]:
    """A decide function appending ``name`` to a tick list and bumping the version."""

    def decide(record: Record | None) -> Decision:
        # Hold the row a little: a store that loses updates would lose them here.
        time.sleep(0.002)
        ticks = list(record.data["ticks"]) if record else []
        version = record.version if record else 0
        return Decision(Record({"state": "counting", "ticks": [*ticks, name]}, "tick", version + 1))

    return decide


# -- the contract -------------------------------------------------------------------------------
async def test_round_trip(backend: Backend, flow: Flow) -> None:
    store = backend.store
    record = started(flow)
    await store.transact(key=KEY, update_id=1, decide=lambda _: put(record))
    assert await load(store) == record
    assert await load(store, OTHER) is None


async def test_version_counter_and_unchanged_decisions(backend: Backend, flow: Flow) -> None:
    store = backend.store
    first = started(flow)
    await store.transact(key=KEY, update_id=None, decide=lambda _: put(first))
    for _ in range(4):

        def bump(r: Record | None) -> Decision:
            assert r is not None
            return Decision(Record(r.data, r.check_id, r.version + 1, r.anchor_message_id, r.content_version))

        await store.transact(key=KEY, update_id=None, decide=bump)
    current = await load(store)
    assert current is not None and current.version == 5
    # changed=False: whatever the decision holds is not written.
    await store.transact(
        key=KEY, update_id=None, decide=lambda r: Decision(Record(first.data, "zzz", 99), changed=False)
    )
    assert await load(store) == current


async def test_duplicate_update_changes_nothing(backend: Backend, flow: Flow) -> None:
    store = backend.store
    record = started(flow)
    await store.transact(key=KEY, update_id=10, decide=lambda _: put(record))
    called: list[bool] = []

    def decide(r: Record | None) -> Decision:
        called.append(True)
        return Decision(None, OutcomeCount(DAY, "urgent", "1.0.0"))

    with pytest.raises(Duplicate):
        await store.transact(key=KEY, update_id=10, decide=decide)
    with pytest.raises(Duplicate):
        await store.transact(key=OTHER, update_id=10, decide=decide)
    assert called == []
    assert await load(store) == record
    assert await store.outcome_counts(since=DAY) == []


async def test_outcome_deletes_row_and_counts_in_one_transaction(backend: Backend, flow: Flow) -> None:
    store = backend.store
    await store.transact(key=KEY, update_id=1, decide=lambda _: put(started(flow)))
    done = OutcomeCount(DAY, "urgent", "1.0.0", "")
    await store.transact(key=KEY, update_id=2, decide=lambda _: Decision(None, done))
    assert await load(store) is None
    await store.transact(key=KEY, update_id=3, decide=lambda _: put(started(flow)))
    await store.transact(key=KEY, update_id=4, decide=lambda _: Decision(None, done))
    await store.transact(
        key=OTHER, update_id=5, decide=lambda _: Decision(None, OutcomeCount(DAY, "concern", "1.0.0", "edu"))
    )
    assert await store.outcome_counts(since=DAY) == [
        (DAY, "concern", "1.0.0", "edu", 1),
        (DAY, "urgent", "1.0.0", "", 2),
    ]
    assert await store.outcome_counts(since=DAY + dt.timedelta(days=1)) == []


async def test_a_decision_that_fails_writes_nothing(backend: Backend, flow: Flow) -> None:
    store = backend.store
    record = started(flow)
    await store.transact(key=KEY, update_id=1, decide=lambda _: put(record))

    def boom(_: Record | None) -> Decision:
        raise RuntimeError("decide failed")

    with pytest.raises(RuntimeError):
        await store.transact(key=KEY, update_id=2, decide=boom)
    assert await load(store) == record
    # The update id was not recorded, so a redelivery is processed normally.
    await store.transact(
        key=KEY, update_id=2, decide=lambda _: Decision(None, OutcomeCount(DAY, "urgent", "1"))
    )
    assert await store.outcome_counts(since=DAY) == [(DAY, "urgent", "1", "", 1)]


# Not for the in-memory store: it has no columns, so no counter write can fail after the delete.
# (A decide that raises is the contract's test above, on every store.)
async def test_failure_inside_the_transaction_writes_nothing(store: SqlStore, flow: Flow) -> None:
    record = started(flow)
    await store.transact(key=KEY, update_id=1, decide=lambda _: put(record))
    # The counter write fails after the row delete was issued: the delete must roll back with it.
    bad_count = OutcomeCount(DAY, "x" * 40, "1.0.0")
    with pytest.raises(ValueError):
        await store.transact(key=KEY, update_id=3, decide=lambda _: Decision(None, bad_count))
    assert await load(store) == record
    assert await store.outcome_counts(since=DAY) == []
    # The failed update id was not recorded, so a redelivery is processed normally.
    await store.transact(
        key=KEY, update_id=2, decide=lambda _: Decision(None, OutcomeCount(DAY, "urgent", "1"))
    )
    await store.transact(key=OTHER, update_id=3, decide=lambda _: put(record))
    assert await store.outcome_counts(since=DAY) == [(DAY, "urgent", "1", "", 1)]


async def test_an_expired_check_is_counted_by_its_service_column(backend: Backend, flow: Flow) -> None:
    """The service code is a column of its own: purge counts by it without opening ``data``."""
    stale = backend.another(-dt.timedelta(seconds=1), flow)
    # Answered once (version 2; the data itself names no service).
    record = dataclasses.replace(started(flow), service="health", version=2)
    assert "service" not in record.data["answers"]
    await stale.transact(key=KEY, update_id=None, decide=lambda _: put(record))
    loaded = await load(stale)
    assert loaded is None  # expired at once
    now = dt.datetime.now(dt.UTC)
    assert await stale.purge(now=now) == 1
    counts = await stale.outcome_counts(since=now.date())
    assert [(level, service, n) for _, level, _, service, n in counts] == [("abandoned", "health", 1)]


async def test_expiry_hides_rows_and_purge_deletes_them(backend: Backend, flow: Flow) -> None:
    store = backend.store
    record = dataclasses.replace(started(flow), version=2)  # answered once
    stale = backend.another(-dt.timedelta(seconds=1), flow)
    await stale.transact(key=KEY, update_id=None, decide=lambda _: put(record))
    await store.transact(key=OTHER, update_id=1, decide=lambda _: put(record))
    assert await load(store) is None
    assert await load(store, OTHER) == record
    now = dt.datetime.now(dt.UTC)
    assert await store.purge(now=now) == 1
    assert await store.purge(now=now) == 0
    assert await load(store, OTHER) == record
    # The expired check had an answer: counted, anonymously, as abandoned (once).
    counts = await store.outcome_counts(since=now.date())
    assert [(level, n) for _, level, _, _, n in counts] == [("abandoned", 1)]
    # A day later the live one has expired too; its update id is still refused.
    assert await store.purge(now=now + TTL + dt.timedelta(minutes=1)) == 1
    with pytest.raises(Duplicate):
        await store.transact(key=OTHER, update_id=1, decide=lambda _: put(record))


# Not for the in-memory store: it forgets update ids by number kept (100,000), not by age, and
# lives only as long as the process, so the database's 48-hour table does not apply.
async def test_purge_forgets_update_ids_after_48_hours(store: SqlStore, flow: Flow) -> None:
    record = started(flow)
    await store.transact(key=OTHER, update_id=1, decide=lambda _: put(record))
    now = dt.datetime.now(dt.UTC)
    await store.purge(now=now + dt.timedelta(hours=47))
    with pytest.raises(Duplicate):
        await store.transact(key=OTHER, update_id=1, decide=lambda _: put(record))
    await store.purge(now=now + dt.timedelta(hours=49))
    await store.transact(key=OTHER, update_id=1, decide=lambda _: put(record))


async def test_expired_row_is_replaced_by_a_new_check(backend: Backend, flow: Flow) -> None:
    store = backend.store
    old = started(flow)
    stale = backend.another(-dt.timedelta(seconds=1), flow)
    await stale.transact(key=KEY, update_id=None, decide=lambda _: put(old))
    new = Record(old.data, "fresh", 1, None, old.content_version)
    await store.transact(key=KEY, update_id=None, decide=lambda r: put(new) if r is None else put(r))
    assert await load(store) == new


async def test_forget(backend: Backend, flow: Flow) -> None:
    store = backend.store
    await store.transact(key=KEY, update_id=None, decide=lambda _: put(started(flow)))
    await store.transact(key=OTHER, update_id=None, decide=lambda _: put(started(flow)))
    assert await store.forget(key=KEY) == 1
    assert await store.forget(key=KEY) == 0
    assert await load(store) is None
    assert await load(store, OTHER) is not None


async def test_feedback_counts(backend: Backend) -> None:
    store = backend.store
    await store.count_feedback(day=DAY, level="urgent", blocks=5, content_version="2.0.0")
    await store.count_feedback(day=DAY, level="urgent", blocks=5, content_version="2.0.0")
    await store.count_feedback(day=DAY, level="concern", blocks=0, content_version="2.0.0")
    assert await store.feedback_counts(since=DAY) == [
        (DAY, "concern", 0, "2.0.0", 1),
        (DAY, "urgent", 5, "2.0.0", 2),
    ]


# Not for the in-memory store: the length limits are the database columns'.
async def test_counters_refuse_free_text(store: SqlStore) -> None:
    with pytest.raises(ValueError):
        await store.count_lookup(day=DAY, name="a name typed by someone, far too long")
    with pytest.raises(ValueError):
        await store.count_feedback(
            day=DAY, level="a level typed by someone, far too long", blocks=0, content_version="2.0.0"
        )


async def test_lookup_counts(backend: Backend) -> None:
    store = backend.store
    await store.count_lookup(day=DAY, name="contacts")
    await store.count_lookup(day=DAY, name="contacts")
    await store.count_lookup(day=DAY, name="signs")
    assert await store.lookup_counts(since=DAY) == [(DAY, "contacts", 2), (DAY, "signs", 1)]


# -- privacy guards -----------------------------------------------------------------------------
async def test_validate_refuses_anything_but_content_codes(store: SqlStore, flow: Flow) -> None:
    good = started(flow)
    bad_answer = Record({**good.data, "answers": {"q_age": "Jane Doe, 12 Acacia Road"}}, "chk", 1)
    extra_field = Record({**good.data, "note": "lives at 12 Acacia Road"}, "chk", 1)
    long_id = Record(good.data, "x" * 17, 1)
    # Codes only, so the store's own check lets them by: the content's check refuses them.
    unknown_code = Record({**good.data, "answers": {"q_age": "not_an_option"}}, "chk", 1)
    extra_code = Record({**good.data, "note": "x"}, "chk", 1)
    for i, record in enumerate([bad_answer, extra_field, long_id, unknown_code, extra_code]):
        with pytest.raises(ValueError) as caught:
            await store.transact(key=KEY, update_id=100 + i, decide=saving(record))
        assert "Acacia" not in str(caught.value)
    assert await load(store) is None
    # Nothing was written, not even the update ids.
    await store.transact(key=KEY, update_id=100, decide=lambda _: put(good))
    with pytest.raises(ValueError):
        await store.transact(key="chat-42", update_id=None, decide=lambda _: put(good))


async def test_without_a_validator_only_codes_are_written(plain: SqlStore, flow: Flow) -> None:
    """The store's own check, whatever the caller validates: free text never reaches a row."""
    good = started(flow)
    for i, data in enumerate(
        [
            {**good.data, "answers": {"age": "Jane Doe, 12 Acacia Road"}},
            {**good.data, "picked": {"signs_1": ["Acacia Road"]}},
            {**good.data, "Note": "x"},
            {**good.data, "state": "a" * 33},
        ]
    ):
        with pytest.raises(ValueError) as caught:
            await plain.transact(key=KEY, update_id=200 + i, decide=saving(Record(data, "chk", 1)))
        assert "Acacia" not in str(caught.value)
    assert await load(plain) is None
    await plain.transact(key=KEY, update_id=200, decide=lambda _: put(good))
    assert await load(plain) is not None


async def test_schema_has_no_free_text_column(store: SqlStore) -> None:
    found = inspect(store.engine)
    assert set(found.get_table_names()) == TABLES | {"alembic_version"}
    for table in TABLES:
        for column in found.get_columns(table):
            kind = column["type"]
            where = f"{table}.{column['name']}"
            if isinstance(kind, JSON):
                assert where == "conversation.data"
            elif isinstance(kind, String):
                assert kind.length is not None and kind.length <= 64, where
            else:
                assert kind.python_type in (int, dt.date, dt.datetime), where


async def test_migration_matches_the_tables(store: SqlStore) -> None:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []


async def test_sqlite_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    migrate(DEFAULT_URL)
    assert (tmp_path / "data" / "cse-triage.db").exists()
    engine = make_engine(DEFAULT_URL)
    with engine.connect() as connection:
        pragma = {
            p: connection.exec_driver_sql(f"PRAGMA {p}").scalar() for p in ("journal_mode", "foreign_keys")
        }
        pragma["busy_timeout"] = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
    engine.dispose()
    assert pragma == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 5000}


async def test_a_write_lock_held_elsewhere_never_stalls_the_event_loop(tmp_path: Path, flow: Flow) -> None:
    """SQLite updates run on the event loop when the write lock is free; when another process
    holds it, the update waits in a worker thread (with the 5 s busy timeout), so every other chat
    is still served, and it completes once the lock is released."""
    path = tmp_path / "locked.sqlite3"
    url = f"sqlite:///{path}"
    migrate(url)
    store = SqlStore(url=url, ttl=TTL)
    record = started(flow)
    try:
        await store.transact(key=KEY, update_id=1, decide=saving(record))  # on the loop, lock free
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            waiting = asyncio.create_task(store.transact(key=OTHER, update_id=2, decide=saving(record)))
            started_at = time.monotonic()
            with pytest.raises(TimeoutError):  # the loop ran the timeout: it was not held
                await asyncio.wait_for(asyncio.shield(waiting), 0.2)
            assert time.monotonic() - started_at < 2.5, "the event loop waited on the write lock"
            assert not waiting.done()
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        await asyncio.wait_for(waiting, 10)
        assert await load(store, OTHER) == record
    finally:
        await store.close()


def test_one_default_database_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """With DATABASE_URL unset the bot opens ./data/cse-triage.db: the file the README names and
    the deploy files use (under /var/lib/cse-triage/), so a trial and a deployment agree."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert wiring.database_url(settings) == DEFAULT_URL
    default = Path(str(database_url(DEFAULT_URL).database))
    assert f"`./{default}`" in (ROOT / "README.md").read_text(encoding="utf-8")
    for unit in ("cse-triage.service", "cse-triage-web.service", "Dockerfile"):
        found = re.search(
            r"^(?:Environment=|ENV )DATABASE_URL=(\S+)",
            (ROOT / "deploy" / unit).read_text(encoding="utf-8"),
            re.M,
        )
        assert found is not None, unit
        assert Path(str(database_url(found.group(1)).database)).name == default.name, unit


def test_database_urls() -> None:
    assert database_url("postgresql://u:p@db:5432/cse").drivername == "postgresql+psycopg"
    assert database_url("postgres://u@db/cse").drivername == "postgresql+psycopg"
    assert database_url("sqlite:///data/x.sqlite3").database == "data/x.sqlite3"
    for bad in ("mysql://u@db/cse", "sqlite://", "sqlite:///:memory:"):
        with pytest.raises(ValueError):
            database_url(bad)


@pytest.mark.slow  # pg_dump
async def test_dump_shows_what_is_stored(database: Database, flow: Flow) -> None:
    migrate(database.url)
    s = ContentCheckedStore(url=database.url, ttl=TTL, validate=flow.load)
    await s.transact(key=KEY, update_id=None, decide=lambda _: put(started(flow)))
    await s.close()
    dumped = database.dump()
    assert KEY in dumped and "chk12345" in dumped
    assert str(CHAT_ID) not in dumped and str(BOT_ID) not in dumped


# -- schema migrations --------------------------------------------------------------------------
def test_fresh_database_is_migrated_to_head(db_url: str) -> None:
    with pytest.raises(PendingMigration) as pending:
        migrate(db_url, upgrade=False)
    assert pending.value.revisions[0].startswith("0001 ") and "0001" in str(pending.value)
    migrate(db_url)
    migrate(db_url)  # idempotent
    migrate(db_url, upgrade=False)
    engine = make_engine(db_url)
    assert set(inspect(engine).get_table_names()) >= TABLES
    engine.dispose()


MIGRATOR = """
import sys
from storage.sql.schema import migrate
print("ready", flush=True)
sys.stdin.readline()
migrate(sys.argv[1])
"""


def run_together(script: str, argvs: list[list[str]]) -> None:
    """Start one process per argv, release them at the same moment, and require that all succeed."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", script, *argv],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )  # fmt: skip
        for argv in argvs
    ]
    try:
        for w in workers:
            assert w.stdout is not None and w.stdout.readline().strip() == "ready", w.stderr
        for w in workers:
            assert w.stdin is not None
            w.stdin.write("go\n")
            w.stdin.flush()
        for w in workers:
            _, err = w.communicate(timeout=40)
            assert w.returncode == 0, err[-2000:]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()


@pytest.mark.slow
def test_workers_starting_together_migrate_once(db_url: str) -> None:
    run_together(MIGRATOR, [[db_url]] * 3)
    migrate(db_url, upgrade=False)


NEXT_REVISION = '''"""Add an index for the tests.

Revision ID: 9999
Revises: {head}
"""
from alembic import op

revision = "9999"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_test_lookup_name", "lookup_count", ["name"])


def downgrade() -> None:
    op.drop_index("ix_test_lookup_name", table_name="lookup_count")
'''


def test_older_schema_is_reported_by_name(
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    migrate(db_url)
    scripts = tmp_path / "migrations"
    shutil.copytree(storage.sql.schema.MIGRATIONS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    head = storage.sql.schema._code_head()  # whatever the newest real migration is
    assert head is not None
    (scripts / "versions" / "9999_test_index.py").write_text(NEXT_REVISION.replace("{head}", head))
    monkeypatch.setattr(storage.sql.schema, "MIGRATIONS", scripts)
    with pytest.raises(PendingMigration) as pending:
        migrate(db_url, upgrade=False)
    assert pending.value.revisions == ["9999 (Add an index for the tests.)"]
    migrate(db_url)
    migrate(db_url, upgrade=False)


# -- concurrency --------------------------------------------------------------------------------
async def test_concurrent_tasks_lose_no_update(plain_backend: ConversationStore) -> None:
    plain = plain_backend
    n = 30
    await asyncio.gather(
        *(plain.transact(key=KEY, update_id=i, decide=tick("t")) for i in range(n)),
        *(plain.transact(key=OTHER, update_id=None, decide=tick("o")) for _ in range(n)),
    )
    for key in (KEY, OTHER):
        record = await load(plain, key)
        assert record is not None and record.version == n and len(record.data["ticks"]) == n


WORKER = """
import asyncio, datetime as dt, sys, time
from storage.base import Decision, Record
from storage.sql.store import SqlStore

url, key, name, first_id, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])

def decide(record):
    time.sleep(0.002)  # hold the row: a lost update would happen here
    ticks = list(record.data["ticks"]) if record else []
    version = record.version if record else 0
    return Decision(Record({"state": "counting", "ticks": ticks + [name]}, "tick", version + 1))

async def main():
    store = SqlStore(url=url, ttl=dt.timedelta(hours=1))
    await store.outcome_counts(since=dt.date.today())  # connected before the start signal
    print("ready", flush=True)
    sys.stdin.readline()
    for i in range(n):
        await store.transact(key=key, update_id=first_id + i, decide=decide)
    await store.close()

asyncio.run(main())
"""


@pytest.mark.slow
async def test_two_processes_share_one_conversation(database: Database) -> None:
    migrate(database.url)
    n = 50
    run_together(
        WORKER, [[database.url, KEY, name, str(first), str(n)] for name, first in (("a", 1000), ("b", 2000))]
    )
    s = SqlStore(url=database.url, ttl=TTL)
    record = await load(s)
    await s.close()
    assert record is not None
    ticks: list[str] = record.data["ticks"]
    assert record.version == 2 * n and len(ticks) == 2 * n
    assert ticks.count("a") == ticks.count("b") == n
    if database.backend == "postgres":
        # PostgreSQL queues lock waiters in order, so the two workers really did alternate.
        switches = sum(1 for x, y in zip(ticks, ticks[1:], strict=False) if x != y)
        assert switches > 1


# -- the database going away --------------------------------------------------------------------
@pytest.mark.slow  # pg_ctl stop and start
async def test_database_down_and_back(database: Database, flow: Flow) -> None:
    migrate(database.url)
    s = ContentCheckedStore(url=database.impatient_url, ttl=TTL, validate=flow.load)
    record = started(flow)
    await s.transact(key=KEY, update_id=1, decide=lambda _: put(record))
    # PostgreSQL stopped; SQLite write-locked by another connection (to the store: a database away).
    with database.away(), pytest.raises(StoreUnavailable) as caught:
        await s.transact(key=KEY, update_id=2, decide=lambda _: put(record))
    assert KEY not in str(caught.value) and "chk12345" not in str(caught.value)
    assert caught.value.__cause__ is None
    # The same store object works again, and the update that failed was not recorded.
    await s.transact(key=KEY, update_id=2, decide=lambda _: put(record))
    assert await load(s) == record
    await s.close()


@pytest.mark.slow  # pg_ctl stop and start
@pytest.mark.parametrize("busy", [1, 8], ids=["one connection idle", "several idle"])
async def test_a_postgresql_restart_between_updates_costs_no_update(
    pg_database: Database, flow: Flow, busy: int
) -> None:
    # The store's connections from before the restart are dead (after a busy moment, several wait
    # idle); the next update must still succeed: it fails at BEGIN, before anything is sent, and
    # runs again on a new connection, never on another one from before the restart.
    migrate(pg_database.url)
    s = ContentCheckedStore(url=pg_database.url, ttl=TTL, validate=flow.load)
    record = started(flow)
    keys = [chat_key(b"test-secret", BOT_ID, CHAT_ID + 10 + n) for n in range(busy)]
    await asyncio.gather(
        *(s.transact(key=k, update_id=n, decide=lambda _: put(record)) for n, k in enumerate(keys))
    )
    assert s._pg is not None and (busy == 1 or len(s._pg._idle) >= 2), "several connections idle"
    await asyncio.to_thread(pg_database.stop)
    await asyncio.to_thread(pg_database.start)
    await s.transact(key=OTHER, update_id=100, decide=lambda _: put(record))
    assert await load(s, OTHER) == record
    await s.close()


async def test_unreachable_server_is_unavailable() -> None:
    s = SqlStore(url="postgresql://nobody@127.0.0.1:1/none", ttl=TTL)
    with pytest.raises(StoreUnavailable):
        await s.transact(key=KEY, update_id=None, decide=put)
    with pytest.raises(StoreUnavailable):
        migrate("postgresql://nobody@127.0.0.1:1/none")
    await s.close()
