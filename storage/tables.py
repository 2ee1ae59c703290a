"""The database tables: everything the bot keeps, and by construction nothing that could identify a child.

Four tables, all codes, integers and times:

- ``conversation``: one check in progress, keyed by the HMAC of the chat (never the raw chat id);
  ``data`` holds the answer codes of ``Conversation.to_dict()`` and is checked against the content
  before it is written.
- ``processed_update``: Telegram update ids already handled, so a redelivered update changes nothing.
- ``outcome_count`` and ``lookup_count``: anonymous daily counters.

There is no free-text column anywhere: every string column has a short maximum length, and the only
JSON column is ``conversation.data``. The Alembic migration in ``storage/migrations/versions`` creates
exactly these tables; a test compares the two.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Dialect, TypeDecorator
from sqlmodel import Field, SQLModel

KEY_LENGTH = 64
CHECK_ID_LENGTH = 16
STATE_LENGTH = 32
CODE_LENGTH = 32
CONTENT_VERSION_LENGTH = 16


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite has no time zone type and returns naive values; normalising on the way in and out keeps
    expiry comparisons identical on both backends.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware datetime")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class ConversationRow(SQLModel, table=True):
    """One check in progress for one chat key."""

    __tablename__ = "conversation"

    key: str = Field(primary_key=True, max_length=KEY_LENGTH)
    check_id: str = Field(max_length=CHECK_ID_LENGTH)
    version: int
    state: str = Field(max_length=STATE_LENGTH)
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    anchor_message_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    content_version: str = Field(max_length=CONTENT_VERSION_LENGTH)
    # The service code the check chose ("" until it is asked): its own column, so storage never
    # opens ``data`` (counting an expired check by service, for one).
    service: str = Field(default="", max_length=CODE_LENGTH, sa_column_kwargs={"server_default": ""})
    updated_at: dt.datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    expires_at: dt.datetime = Field(sa_column=Column(UtcDateTime, nullable=False, index=True))


class ProcessedUpdate(SQLModel, table=True):
    """A Telegram update id already handled (kept 48 hours, longer than Telegram redelivers)."""

    __tablename__ = "processed_update"

    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    seen_at: dt.datetime = Field(sa_column=Column(UtcDateTime, nullable=False, index=True))


class OutcomeCountRow(SQLModel, table=True):
    """How many checks ended at a level on a day, per content version, service code and channel."""

    __tablename__ = "outcome_count"

    day: dt.date = Field(primary_key=True)
    level: str = Field(primary_key=True, max_length=CODE_LENGTH)
    content_version: str = Field(primary_key=True, max_length=CONTENT_VERSION_LENGTH)
    service: str = Field(primary_key=True, max_length=CODE_LENGTH)
    # Where the check was done: telegram, terminal or web ("" for counts from before 0003, and for
    # unfinished checks that expired, whose channel is not kept).
    channel: str = Field(primary_key=True, max_length=CODE_LENGTH, default="")
    count: int = 0


class LookupCountRow(SQLModel, table=True):
    """How many times a lookup screen (contacts, signs, ...) was opened on a day."""

    __tablename__ = "lookup_count"

    day: dt.date = Field(primary_key=True)
    name: str = Field(primary_key=True, max_length=CODE_LENGTH)
    count: int = 0


class FeedbackCountRow(SQLModel, table=True):
    """How many times "Report a problem with this advice" was pressed on a day, per outcome level,
    situation blocks shown (a bit mask over the content's `addenda`, in file order) and content
    version. Counts only: no chat key, no text."""

    __tablename__ = "feedback_count"

    day: dt.date = Field(primary_key=True)
    level: str = Field(primary_key=True, max_length=CODE_LENGTH)
    blocks: int = Field(primary_key=True)
    content_version: str = Field(primary_key=True, max_length=CONTENT_VERSION_LENGTH)
    count: int = 0
