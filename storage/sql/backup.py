"""Backups while the bot runs: a copy of a SQLite file, or the ``pg_dump`` command for PostgreSQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.exc import InterfaceError, OperationalError

from storage.sql.engine import database_url, make_engine


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
