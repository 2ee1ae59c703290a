"""An in-process store: a test double for the Telegram tests that need no database.

It keeps the main points of the database stores' contract (one lock per key, duplicate update ids
refused, expiry, the outcome counted as the row goes) but lives and dies with the test. Every
mode of the bot itself (terminal, Telegram) uses :class:`storage.sql.store.SqlStore`; the behaviour
tests of that store are ``tests/storage/test_storage.py``.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
from collections import Counter, OrderedDict
from collections.abc import Callable

from storage.base import ABANDONED, FINISHED, Decision, Duplicate, OutcomeCount, Record, StoreUnavailable

_SEEN_LIMIT = 100_000


class MemoryStore:
    """Conversations in a dict, for one process."""

    def __init__(self, *, ttl: dt.timedelta = dt.timedelta(hours=24)) -> None:
        self.ttl = ttl
        self.rows: dict[str, tuple[Record, dt.datetime]] = {}
        self.seen: OrderedDict[int, None] = OrderedDict()
        self.outcomes: Counter[OutcomeCount] = Counter()
        self.lookups: Counter[tuple[dt.date, str]] = Counter()
        self.feedback: Counter[tuple[dt.date, str, int, str]] = Counter()
        self._locks: dict[str, asyncio.Lock] = {}

    async def transact(
        self, *, key: str, update_id: int | None, decide: Callable[[Record | None], Decision]
    ) -> Decision:
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            if update_id is not None and update_id in self.seen:
                raise Duplicate(update_id)
            now = dt.datetime.now(dt.UTC)
            row = self.rows.get(key)
            current = copy.deepcopy(row[0]) if row and row[1] > now else None
            decision = decide(current)
            if decision.changed:
                if decision.record is None:
                    self.rows.pop(key, None)
                else:
                    self.rows[key] = (copy.deepcopy(decision.record), now + self.ttl)
            if decision.count is not None:
                self.outcomes[decision.count] += 1
            if update_id is not None:
                self.seen[update_id] = None
                while len(self.seen) > _SEEN_LIMIT:
                    self.seen.popitem(last=False)
            return decision

    async def forget(self, *, key: str) -> int:
        return 1 if self.rows.pop(key, None) else 0

    async def purge(self, *, now: dt.datetime) -> int:
        expired = [k for k, (_, exp) in self.rows.items() if exp <= now]
        for k in expired:
            record = self.rows.pop(k)[0]
            if record.data.get("state") != FINISHED and record.version > 1:  # as SqlStore.purge
                count = OutcomeCount(now.date(), ABANDONED, record.content_version, record.service)
                self.outcomes[count] += 1
        return len(expired)

    async def count_lookup(self, *, day: dt.date, name: str) -> None:
        self.lookups[(day, name)] += 1

    async def outcome_counts(self, *, since: dt.date) -> list[tuple[dt.date, str, str, str, int]]:
        totals: Counter[tuple[dt.date, str, str, str]] = Counter()
        for c, n in self.outcomes.items():
            if c.day >= since:
                totals[(c.day, c.level, c.content_version, c.service)] += n
        return sorted((*k, n) for k, n in totals.items())

    async def channel_counts(self, *, since: dt.date) -> list[tuple[dt.date, str, int]]:
        totals: Counter[tuple[dt.date, str]] = Counter()
        for c, n in self.outcomes.items():
            if c.day >= since and c.level != ABANDONED:
                totals[(c.day, c.channel)] += n
        return sorted((*k, n) for k, n in totals.items())

    async def count_feedback(self, *, day: dt.date, level: str, blocks: int, content_version: str) -> None:
        self.feedback[(day, level, blocks, content_version)] += 1

    async def feedback_counts(self, *, since: dt.date) -> list[tuple[dt.date, str, int, str, int]]:
        return sorted((*k, n) for k, n in self.feedback.items() if k[0] >= since)

    async def lookup_counts(self, *, since: dt.date) -> list[tuple[dt.date, str, int]]:
        return sorted((day, name, n) for (day, name), n in self.lookups.items() if day >= since)

    async def close(self) -> None:
        self.rows.clear()


class DownStore(MemoryStore):
    """A store whose database has gone away: every transaction fails as the real ones do."""

    async def transact(self, **_kwargs: object) -> object:  # type: ignore[override]
        raise StoreUnavailable("database down")
