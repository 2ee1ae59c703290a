"""The composition root: settings in, the parts of the bot out, each built in one place.

Every front end (the terminal, Telegram, the web page, the command line, the benchmark) gets its
clock, contacts, content, flow, store and :class:`CheckService` from here, and each long-running
mode its runtime (bot/runtime.py), so they are wired the same way everywhere. Files are read
here; ``flows/`` validates what it is given. The clock keeps the contacts file's time zone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.config import Settings, SettingsError
from bot.service import CheckService
from flows.contacts import EXAMPLE_CONTACTS, Directory, YamlDirectory, load_directory
from flows.machine import Flow
from flows.schema import Content, load_content
from flows.screens import Channel
from storage.base import DEFAULT_URL, ConversationStore
from storage.deferred import DeferredStore

if TYPE_CHECKING:
    from bot.runtime import Kind, Runtime


def fixed_time(now: str | None) -> dt.datetime | None:
    """``--now`` as a moment (naive: local time wherever it is used), or None for real time."""
    if now is None:
        return None
    try:
        return dt.datetime.fromisoformat(now)
    except ValueError:
        raise SettingsError(f"--now: not a date and time like '2026-12-05 21:40': {now!r}") from None


def clock(now: str | None, zone: ZoneInfo) -> Callable[[], dt.datetime]:
    """The clock in ``zone`` (the contacts file's ``timezone``): real time, or a fixed moment for
    demos and tests (``--now``, taken as local time there unless it says otherwise)."""
    fixed = fixed_time(now)
    if fixed is None:
        return lambda: dt.datetime.now(zone)
    if fixed.tzinfo is None:
        fixed = fixed.replace(tzinfo=zone)
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
    now: str | None = None,
    *,
    channel: Channel = "telegram",
    counting: bool = True,
    open_later: bool = False,
    draft: bool = False,
) -> CheckService:
    """The check service over the configured store, its schema brought up to date first.

    ``now``: ``--now`` (a fixed moment), or None for the real time, in the contacts file's zone.
    ``draft``: a reviewer's preview of a draft content or contacts file (see
    :class:`CheckService`); content whose version is not approved is always a draft.
    ``open_later`` (the terminal): the store is a :class:`DeferredStore`, opened in a background
    thread once its ``begin`` is called, so the first screen can be shown before the database
    layer is even imported.
    """
    directory = contacts(settings)

    def opened() -> ConversationStore:
        from storage.sql.schema import migrate

        migrate(database_url(settings))
        return sql_store(settings)

    return check_service(
        store=DeferredStore(opened) if open_later else opened(),
        clock=clock(now, directory.zone),
        directory=directory,
        content=content(settings),
        channel=channel,
        counting=counting,
        draft=draft,
    )


def sql_store(settings: Settings) -> ConversationStore:
    """The configured store, its schema as it is (``service`` brings it up to date first;
    ``cse-triage purge`` only deletes)."""
    from storage.sql.store import SqlStore

    # Every write is checked to hold codes only (storage/sql/rows.py); what is read back is checked
    # against the content by the flow before use.
    return SqlStore(url=database_url(settings), ttl=dt.timedelta(hours=settings.session_ttl_hours))


def check_service(
    *,
    store: ConversationStore,
    clock: Callable[[], dt.datetime],
    directory: Directory | None = None,
    content: Content | None = None,
    flow: Flow | None = None,
    channel: Channel = "telegram",
    counting: bool = True,
    draft: bool = False,
) -> CheckService:
    """A check service over these parts, wired the one way: :func:`service` builds one from the
    settings, tests and the benchmark with a store, contacts, content or clock of their own.

    ``directory``: the shipped example contacts unless given. ``flow``: one already built over
    these contacts' services (several services sharing it); otherwise one over ``content`` (the
    shipped content unless given) and the directory's services.
    """
    directory = directory or load_directory(EXAMPLE_CONTACTS)
    return CheckService(
        flow=flow or Flow(content or load_content(), directory.services),
        store=store,
        directory=directory,
        clock=clock,
        channel=channel,
        counting=counting,
        draft=draft,
    )


def runtime(
    settings: Settings, now: str | None = None, *, kind: Kind, counting: bool = True, draft: bool = False
) -> Runtime:
    """A long-running process (Telegram polling or webhook, the web page): its service, for the
    channel ``kind``, kept by the runtime that runs the purge sweep, the contacts reload and the
    metrics around its server (bot/runtime.py)."""
    from bot.runtime import Runtime  # the metrics and PTB's request types: not for the terminal

    checks = service(settings, now, channel=kind, counting=counting, draft=draft)
    return Runtime(settings, checks, kind=kind)
