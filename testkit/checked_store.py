"""The SQL store, holding every record it writes to the content as well: a test's own check.

In production the store checks that a write holds codes only (:mod:`storage.sql.rows`), and the
flow checks what is read back against the content before using it. Tests go further and refuse,
inside the transaction, any record the content would not load back as it is: a service that wrote
a state, answer or field the content does not define fails the test at the write that did it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from storage.base import Decision, Record
from storage.sql.store import SqlStore


class ContentCheckedStore(SqlStore):
    """A :class:`SqlStore` that also refuses a record ``validate`` (e.g. ``Flow.load``) does not
    accept, or rebuilds into something else. ``validate`` may be set (or changed) after opening."""

    def __init__(
        self, *, url: str, ttl: dt.timedelta, validate: Callable[[dict[str, Any]], object] | None = None
    ) -> None:
        super().__init__(url=url, ttl=ttl)
        self.validate = validate

    async def transact(
        self, *, key: str, update_id: int | None, decide: Callable[[Record | None], Decision]
    ) -> Decision:
        def checked(current: Record | None) -> Decision:
            decision = decide(current)
            if decision.changed and decision.record is not None:
                self.check(decision.record.data)
            return decision

        return await super().transact(key=key, update_id=update_id, decide=checked)

    def check(self, data: dict[str, Any]) -> None:
        """Refuse ``data`` unless ``validate`` accepts it and, if it returns the rebuilt object,
        rebuilds exactly ``data`` (a key it silently ignored is refused too)."""
        if self.validate is None:
            return
        try:
            loaded = self.validate(data)
        except Exception as err:
            refused = f"record refused: data does not fit the content ({type(err).__name__})"
            raise ValueError(refused) from None
        to_dict = getattr(loaded, "to_dict", None)
        if callable(to_dict) and to_dict() != data:
            raise ValueError("record refused: data holds fields the content does not define")
