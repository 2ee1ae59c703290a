"""A store opened in the background: for the terminal check, which shows its first screen while the
database is opened (SQLAlchemy imported, the schema checked or migrated) behind it.

:class:`DeferredStore` implements :class:`storage.base.ConversationStore` by waiting for the real
store, opened once by ``open_store`` in a thread of its own, started by :meth:`DeferredStore.begin`
(or by the first call that needs the store). If opening fails, every call raises that error, so the
caller shows its safety net (999 and the designated contact) exactly as for a store that went away.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
from collections.abc import Callable

from storage.base import ConversationStore, Decision, Record


class DeferredStore:
    """Every call waits for the store ``open_store`` returns, opened in a background thread."""

    def __init__(self, open_store: Callable[[], ConversationStore]) -> None:
        self._open_store = open_store
        self._opening: concurrent.futures.Future[ConversationStore] | None = None

    def begin(self) -> None:
        """Start opening the store now (once); the first call that needs it waits for it."""
        if self._opening is None:
            pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="open-store")
            self._opening = pool.submit(self._open_store)
            pool.shutdown(wait=False)  # the thread ends when the store is open

    async def _store(self) -> ConversationStore:
        self.begin()
        assert self._opening is not None
        return await asyncio.wrap_future(self._opening)

    async def transact(
        self, *, key: str, update_id: int | None, decide: Callable[[Record | None], Decision]
    ) -> Decision:
        return await (await self._store()).transact(key=key, update_id=update_id, decide=decide)

    async def forget(self, *, key: str) -> int:
        return await (await self._store()).forget(key=key)

    async def purge(self, *, now: dt.datetime) -> int:
        return await (await self._store()).purge(now=now)

    async def count_lookup(self, *, day: dt.date, name: str) -> None:
        await (await self._store()).count_lookup(day=day, name=name)

    async def count_feedback(self, *, day: dt.date, level: str, blocks: int, content_version: str) -> None:
        store = await self._store()
        await store.count_feedback(day=day, level=level, blocks=blocks, content_version=content_version)

    async def feedback_counts(self, *, since: dt.date) -> list[tuple[dt.date, str, int, str, int]]:
        return await (await self._store()).feedback_counts(since=since)

    async def outcome_counts(self, *, since: dt.date) -> list[tuple[dt.date, str, str, str, int]]:
        return await (await self._store()).outcome_counts(since=since)

    async def lookup_counts(self, *, since: dt.date) -> list[tuple[dt.date, str, int]]:
        return await (await self._store()).lookup_counts(since=since)

    async def channel_counts(self, *, since: dt.date) -> list[tuple[dt.date, str, int]]:
        return await (await self._store()).channel_counts(since=since)

    async def close(self) -> None:
        """Close the store if it was ever opened (waiting for an opening in progress)."""
        if self._opening is None:
            return
        try:
            store = await asyncio.wrap_future(self._opening)
        except Exception:  # noqa: BLE001 - it never opened: nothing to close
            return
        await store.close()
