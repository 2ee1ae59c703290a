"""The schema: :func:`migrate` brings the database to the Alembic head (or, with ``upgrade=False``,
raises :class:`PendingMigration` naming what is missing). The store never creates tables itself.

The migration scripts are in ``storage/migrations`` (Alembic is driven from here, with no
alembic.ini). Processes starting together migrate one at a time: a file lock beside a SQLite
database, an advisory lock on PostgreSQL.
"""

from __future__ import annotations

import contextlib
import fcntl
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import InterfaceError, OperationalError, ProgrammingError

from storage.sql.engine import make_engine, unavailable

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
# Held while migrating on PostgreSQL, so workers starting together upgrade the schema one at a time.
_MIGRATION_LOCK = 0x6373_6574_7269_6167
# Alembic keeps its migration context in module globals: one migration at a time per process.
_ALEMBIC = threading.Lock()


class PendingMigration(RuntimeError):
    """The database schema is behind this version of the code."""

    def __init__(self, revisions: list[str]) -> None:
        self.revisions = revisions
        super().__init__(
            "database schema is not up to date; pending migration(s): "
            + ", ".join(revisions)
            + " (start with schema upgrades enabled to apply them)"
        )


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
        raise unavailable(err) from None
    finally:
        engine.dispose()
