"""The one small interface between the bot and wherever conversations are kept.

An update is one unit of work: :meth:`ConversationStore.transact` loads the conversation row
for a pseudonymous chat key (locked for the duration), hands it to a pure ``decide`` function,
and saves what it returns, all in one transaction. The bot never holds conversation state in
memory between updates, so any number of workers can share one database.

Nothing here can hold free text: a :class:`Record` is codes and integers only.
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

# The embedded store when DATABASE_URL is unset (one process): the file the README and the deploy
# files name (deploy/*.service set DATABASE_URL to /var/lib/cse-triage/cse-triage.db).
DEFAULT_URL = "sqlite:///data/cse-triage.db"

# The "level" under which a check that was started and never finished is counted.
ABANDONED = "abandoned"
# The state of a finished check that the web keeps until the session ends (so a reload shows the
# advice again). It was counted when it finished: when it expires it is not "abandoned".
FINISHED = "outcome"


@dataclass
class Record:
    """A conversation as stored: answer codes, a random check id, a version counter."""

    data: dict[str, Any]
    check_id: str
    version: int = 0
    anchor_message_id: int | None = None
    content_version: str = ""
    service: str = ""  # the service code the check chose, kept beside the codes for counting


@dataclass(frozen=True)
class OutcomeCount:
    """One finished check, counted anonymously: day, level, content version, service, and the
    channel it came through ("telegram", "terminal", "web"; "" where not known, as for checks
    that simply expired)."""

    day: dt.date
    level: str
    content_version: str
    service: str = ""
    channel: str = ""


@dataclass
class Decision:
    """What ``decide`` wants saved: the record (None deletes it) and an optional count."""

    record: Record | None
    count: OutcomeCount | None = None
    changed: bool = True


class Duplicate(Exception):
    """The update id was processed before: nothing changes."""


class StoreUnavailable(Exception):
    """The store cannot be reached; the caller falls back to the emergency guidance."""


class ConversationStore(Protocol):
    """Where conversations live between updates."""

    async def transact(
        self, *, key: str, update_id: int | None, decide: Callable[[Record | None], Decision]
    ) -> Decision:
        """Load (locked) → decide → save, atomically. Raise Duplicate for a seen update id."""

    async def forget(self, *, key: str) -> int:
        """Delete everything kept for this chat key; return how many rows went."""

    async def purge(self, *, now: dt.datetime) -> int:
        """Delete expired conversations and old update ids; return how many conversations went."""

    async def count_lookup(self, *, day: dt.date, name: str) -> None:
        """Count one use of a lookup, anonymously."""

    async def count_feedback(self, *, day: dt.date, level: str, blocks: int, content_version: str) -> None:
        """Count one "Report a problem with this advice", anonymously: level, blocks shown, version."""

    async def feedback_counts(self, *, since: dt.date) -> list[tuple[dt.date, str, int, str, int]]:
        """(day, level, blocks, content version, count) from ``since`` on."""

    async def outcome_counts(self, *, since: dt.date) -> list[tuple[dt.date, str, str, str, int]]:
        """(day, level, content version, service, count) from ``since`` on."""

    async def lookup_counts(self, *, since: dt.date) -> list[tuple[dt.date, str, int]]:
        """(day, lookup name, count) from ``since`` on."""

    async def channel_counts(self, *, since: dt.date) -> list[tuple[dt.date, str, int]]:
        """(day, channel, count) of finished checks (not abandoned ones) from ``since`` on."""

    async def close(self) -> None:
        """Release connections."""


def chat_key(secret: bytes, bot_id: int, chat_id: int) -> str:
    """Pseudonymous key of a chat: HMAC-SHA256 of the bot id and chat id under a secret."""
    msg = f"{bot_id}:{chat_id}".encode()
    return hmac.digest(secret, msg, "sha256").hex()  # = hmac.new(…).hexdigest(), in one C call


def web_key(secret: bytes, session_id: str) -> str:
    """Pseudonymous key of a web session: HMAC-SHA256 of the random session id under the same
    secret, in its own domain (``web\\0`` prefix; a chat key's message is ``<digits>:<digits>``),
    so a web key can never equal a Telegram key."""
    return hmac.digest(secret, b"web\0" + session_id.encode(), "sha256").hex()
