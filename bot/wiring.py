"""The composition root: settings in, the parts of the bot out, each built in one place.

Every front end (the terminal, Telegram, the command line, the benchmark) gets its clock,
contacts, content, flow, store and :class:`CheckService` from here, so they are wired the same
way everywhere. Files are read here; ``flows/`` validates what it is given.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from bot.config import Settings, SettingsError
from bot.service import CheckService
from flows.contacts import EXAMPLE_CONTACTS, YamlDirectory, load_directory
from flows.machine import Flow
from flows.schema import Content, load_content
from flows.screens import Channel
from storage.base import DEFAULT_URL, ConversationStore
from storage.deferred import DeferredStore

LONDON = ZoneInfo("Europe/London")


def clock(now: str | None) -> Callable[[], dt.datetime]:
    """The clock: real time, or a fixed moment for demos and tests (``--now``)."""
    if now is None:
        return lambda: dt.datetime.now(LONDON)
    try:
        fixed = dt.datetime.fromisoformat(now)
    except ValueError:
        raise SettingsError(f"--now: not a date and time like '2026-12-05 21:40': {now!r}") from None
    if fixed.tzinfo is None:
        fixed = fixed.replace(tzinfo=LONDON)
    return lambda: fixed


def contacts(settings: Settings) -> YamlDirectory:
    """The organisation's contacts file, or the shipped example (terminal only)."""
    return load_directory(settings.contacts_file or EXAMPLE_CONTACTS)


def content(settings: Settings) -> Content:
    """The content file (questions, items, rules, wording)."""
    return load_content(settings.content_file)


def flow(settings: Settings, directory: YamlDirectory | None = None) -> Flow:
    """The check's state machine over the content, with the contacts file's services."""
    return Flow(content(settings), (directory or contacts(settings)).services)


def database_url(settings: Settings) -> str:
    """DATABASE_URL, or the embedded SQLite file under ./data/."""
    return settings.database_url or DEFAULT_URL


def service(
    settings: Settings,
    now: Callable[[], dt.datetime],
    *,
    channel: Channel = "telegram",
    counting: bool = True,
    open_later: bool = False,
    draft: bool = False,
) -> CheckService:
    """The check service over the configured store, its schema brought up to date first.

    ``draft``: a reviewer's preview of a draft content or contacts file (see
    :class:`CheckService`); content whose version is not approved is always a draft.
    ``open_later`` (the terminal): the store is a :class:`DeferredStore`, opened in a background
    thread once its ``begin`` is called, so the first screen can be shown before the database
    layer is even imported.
    """
    directory = contacts(settings)
    url = database_url(settings)
    ttl = dt.timedelta(hours=settings.session_ttl_hours)

    def open_store() -> ConversationStore:
        from storage.sql.schema import migrate
        from storage.sql.store import SqlStore

        migrate(url)
        # Every write is checked to hold codes only (storage/sql/rows.py); what is read back is checked
        # against the content by the flow before use.
        return SqlStore(url=url, ttl=ttl)

    store = DeferredStore(open_store) if open_later else open_store()
    return CheckService(
        flow=flow(settings, directory),
        store=store,
        directory=directory,
        clock=now,
        channel=channel,
        counting=counting,
        draft=draft,
    )
