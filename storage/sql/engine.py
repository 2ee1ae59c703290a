"""The connection to the database: the URL, the engine's settings (SQLite's pragmas, the timeouts),
what a failure of the database means to the rest of the bot, and SQLite's WAL emptied after a deletion.

Every other module of :mod:`storage.sql` opens its engine with :func:`make_engine`, so the settings
here hold everywhere: ``hide_parameters`` keeps stored values out of error messages and logs, and
:class:`StoreUnavailable` messages name the error type only.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from storage.base import StoreUnavailable

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_SECONDS = 5.0
# Bytes the WAL is cut back to after a checkpoint (it is truncated to 0 after every deletion).
SQLITE_JOURNAL_SIZE_LIMIT = 1024 * 1024
PG_CONNECT_TIMEOUT_SECONDS = 5


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
        # truncated after a deletion (wipe_wal below) and kept small otherwise.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute(f"PRAGMA journal_size_limit={SQLITE_JOURNAL_SIZE_LIMIT}")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    # Take the write lock at the start: a deferred transaction that reads and then writes can fail
    # with SQLITE_BUSY at the write, without the busy timeout helping.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def wipe_wal(engine: Engine) -> None:
    """SQLite: copy the WAL into the database and truncate it to nothing, so a deleted check's
    codes and key do not linger in ``-wal`` (``secure_delete`` has zeroed them in the file).

    Runs after the deleting transaction committed; a failure is logged, never raised.
    """
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()
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


def unavailable(err: Exception) -> StoreUnavailable:
    """:class:`StoreUnavailable` for ``err``, naming its type only (never the statement or values)."""
    cause = getattr(err, "orig", None) or err
    return StoreUnavailable(f"database unavailable ({type(cause).__name__})")


@contextlib.contextmanager
def mapped_errors() -> Iterator[None]:
    """The database being away, locked or broken becomes :class:`StoreUnavailable`."""
    try:
        yield
    except (OperationalError, InterfaceError, PoolTimeout, sqlite3.OperationalError) as err:
        # ``from None``: the chained DBAPI error can quote the statement.
        raise unavailable(err) from None
    except sqlite3.DatabaseError as err:
        # The held SQLite connection (driver errors, not wrapped by SQLAlchemy): a file that is not,
        # or no longer, a database is unavailable too; a constraint or programming error is a bug.
        if type(err) is sqlite3.DatabaseError:
            raise unavailable(err) from None
        raise
    except DBAPIError as err:
        if err.connection_invalidated:
            raise unavailable(err) from None
        raise
