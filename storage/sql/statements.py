"""The per-update transaction's statements, in each dialect, and their order.

:func:`steps` is one ``transact`` as a sequence of driver statements (record the update id, load the
row locked, run ``decide``, save, count), whatever runs them: :func:`run_steps` synchronously (SQLite,
and PostgreSQL in a thread), :class:`storage.pg_async.AsyncPg` on the event loop. The statements go
through the driver, with no ORM session, identity map, flush or deep copies; SQLModel still defines
the tables (:mod:`storage.tables`) and Alembic the schema, and the statements name the same columns.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Generator
from typing import Any

from storage.base import Decision, Duplicate, Record
from storage.sql.rows import row_values, short
from storage.tables import CODE_LENGTH, CONTENT_VERSION_LENGTH

# One statement and its parameters; what is sent back is its first row (or None).
Steps = Generator[tuple[str, dict[str, Any]], Any, tuple[Decision, bool]]


class KeyTaken(Exception):
    """Another worker inserted this conversation between our lock attempt and our insert."""


class HotSql:
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


def steps(
    sql: HotSql,
    ttl: dt.timedelta,
    key: str,
    update_id: int | None,
    decide: Callable[[Record | None], Decision],
) -> Steps:
    """The statements of one ``transact``, whatever runs them: yields each (statement, parameters)
    and is sent its first row (or None); returns the decision and whether a conversation row was
    deleted. A written row lives for ``ttl``."""
    put = sql.param
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
            values = row_values(decision.record, now, ttl)
            values = {**values, "data": sql.json(values["data"]), "key": key}
            values["updated_at"], values["expires_at"] = put(now), put(values["expires_at"])
            if row is None:
                if (yield sql.insert, values) is None:
                    raise KeyTaken
            else:
                yield sql.update, values
    if decision.count is not None:
        c = decision.count
        count = {
            "day": sql.day(c.day),
            "level": short("level", c.level, CODE_LENGTH),
            "content_version": short("content version", c.content_version, CONTENT_VERSION_LENGTH),
            "service": short("service", c.service, CODE_LENGTH),
            "channel": short("channel", c.channel, CODE_LENGTH),
        }
        yield sql.count_outcome, count
    return decision, deleted


def run_steps(run: Callable[[str, dict[str, Any]], Any], statements: Steps) -> tuple[Decision, bool]:
    """``statements`` (from :func:`steps`), inside a transaction the caller opened; ``run`` executes
    one and returns its first row (or None)."""
    try:
        statement = next(statements)
        while True:
            statement = statements.send(run(*statement))
    except StopIteration as done:
        result: tuple[Decision, bool] = done.value
        return result
