"""PostgreSQL's per-update transaction on the event loop, over psycopg's async connections.

A worker thread per update (``asyncio.to_thread``) cost the bot more CPU than its own work on
PostgreSQL (3.3× the same-traffic floor in `make bench`). :class:`AsyncPg` keeps a few
``psycopg.AsyncConnection`` objects (autocommit, so each transaction is an explicit ``BEGIN`` …
``COMMIT``) and runs the statements of :func:`storage.sql.statements.steps` on them. Nothing blocks
the loop: every round trip is awaited.

A connection that died while idle (the server restarted, a proxy dropped it) fails at its
``BEGIN``, before anything was sent that could change data: it is closed and the transaction runs
once more on a new connection, as ``pool_pre_ping`` does for the engine. Any other failure closes
the connection it happened on and is raised; :mod:`storage.sql.store` turns it into
:class:`storage.base.StoreUnavailable`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Generator
from typing import Any, TypeVar

import psycopg
from psycopg import conninfo
from psycopg.pq import TransactionStatus
from sqlalchemy import URL

from storage.base import StoreUnavailable

T = TypeVar("T")
# At most this many connections per process for the per-update path (beside the engine's pool for
# everything else): 32 updates in flight share them, each holding one for a few round trips.
CONNECTIONS = 10


def libpq_conninfo(url: URL, connect_timeout: int) -> str:
    """The libpq connection string for a ``postgresql+psycopg://`` URL (its query parameters, such
    as ``options`` or ``sslmode``, kept)."""
    params: dict[str, Any] = {
        "host": url.host,
        "port": url.port,
        "dbname": url.database,
        "user": url.username,
        "password": url.password,
    }
    for name, value in url.query.items():
        params[name] = value if isinstance(value, str) else value[-1]
    params.setdefault("connect_timeout", connect_timeout)
    return conninfo.make_conninfo(**{k: v for k, v in params.items() if v is not None})


class AsyncPg:
    """A few async connections, each used by one transaction at a time."""

    def __init__(self, dsn: str, size: int = CONNECTIONS) -> None:
        self._dsn = dsn
        self._size = size
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _bind(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._slots is None or self._loop is not loop:
            # Connections belong to the loop that made them; another loop starts afresh.
            self._idle, self._slots, self._loop = [], asyncio.Semaphore(self._size), loop
        return self._slots

    async def transaction(self, steps: Generator[tuple[str, dict[str, Any]], Any, T]) -> T:
        """Run ``steps`` (:func:`storage.sql.statements.steps`) in one transaction; return what it returns.
        The server away, or a connection lost, raises :class:`StoreUnavailable` naming the error
        type only (never the statement or its values)."""
        try:
            return await self._transaction(steps)
        except (psycopg.OperationalError, psycopg.InterfaceError) as err:
            raise StoreUnavailable(f"database unavailable ({type(err).__name__})") from None

    async def _transaction(self, steps: Generator[tuple[str, dict[str, Any]], Any, T]) -> T:
        async with self._bind():
            for attempt in range(2):
                reused = bool(self._idle)
                conn = self._idle.pop() if reused else await self._connect()
                try:
                    await conn.execute("BEGIN")
                except psycopg.OperationalError:
                    await _close(conn)
                    if reused and attempt == 0:
                        # Died while idle (a server restart, say): nothing was sent, so once more,
                        # on a new connection. The other idle ones date from before too: closed.
                        stale, self._idle = self._idle, []
                        for old in stale:
                            await _close(old)
                        continue
                    raise
                try:
                    result = await _drive(conn, steps)
                    await conn.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(Exception):
                        if conn.info.transaction_status != TransactionStatus.IDLE:
                            await conn.execute("ROLLBACK")
                    if conn.closed or conn.info.transaction_status != TransactionStatus.IDLE:
                        await _close(conn)
                    else:
                        self._idle.append(conn)
                    raise
                self._idle.append(conn)
                return result
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(self._dsn, autocommit=True)

    async def close(self) -> None:
        """Close the idle connections of the running loop's set."""
        idle, self._idle = self._idle, []
        if self._loop is asyncio.get_running_loop():
            for conn in idle:
                await _close(conn)


Steps = Generator[tuple[str, dict[str, Any]], Any, T]


async def _drive(conn: psycopg.AsyncConnection[Any], steps: Steps[T]) -> T:
    try:
        statement, params = next(steps)
        while True:
            cursor = await conn.execute(statement, params)
            row = await cursor.fetchone() if cursor.description is not None else None
            statement, params = steps.send(row)
    except StopIteration as done:
        result: T = done.value
        return result


async def _close(conn: psycopg.AsyncConnection[Any]) -> None:
    with contextlib.suppress(Exception):
        await conn.close()
