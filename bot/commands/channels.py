"""The commands that run the check for practitioners: in this terminal (`console`), on Telegram
(`telegram`, polling or webhook, with the web page beside the webhook when WEB_ENABLED), as a web
page on its own (`web`), and `run`, which picks Telegram or the terminal. A real channel refuses
to start, naming each problem in one line, until its settings and files are fit for real use.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot import wiring
from bot.config import Settings
from bot.readiness import check_contacts
from bot.service import CheckService
from flows.schema import load_content, release_problems
from storage.base import chat_key
from storage.deferred import DeferredStore

if TYPE_CHECKING:
    from starlette.types import ASGIApp


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    if settings.telegram_bot_token is not None:
        return cmd_telegram(settings, args)
    print("No TELEGRAM_BOT_TOKEN set: running the check in this terminal.\n")
    return cmd_console(settings, args)


def cmd_console(settings: Settings, args: argparse.Namespace) -> int:
    from bot.console import run_console

    # The terminal is one throwaway chat: its key is random per run, so nothing links runs, and
    # its open check is deleted on leaving. A run pretending another time (--now) is practice and
    # is never counted in the figures.
    # Its first screen is shown while the database opens behind it (the store waits for that).
    service = wiring.service(
        settings,
        args.now,
        channel="terminal",
        counting=args.now is None,
        open_later=True,
        draft=getattr(args, "draft", False),
    )
    if service.draft:
        print(f"{service.flow.content.texts.draft_banner} Nothing from this preview is counted.\n")
    begin = service.store.begin if isinstance(service.store, DeferredStore) else None
    return run_console(service, key=chat_key(secrets.token_bytes(32), 0, 0), after_first_screen=begin)


def _contacts_problems(settings: Settings) -> list[str]:
    """What stops a real channel (Telegram, web) with CONTACTS_FILE set from starting on it."""
    if settings.contacts_file is None:
        return []
    # The check `validate` and a reload make: a line checked too long ago is refused too.
    return [f"CONTACTS_FILE {line}" for line in check_contacts(settings.contacts_file).problems]


def _content_problems(settings: Settings) -> list[str]:
    """What stops Telegram mode on this content file: a draft (not approved) is never live."""
    return [
        f"CONTENT_FILE {settings.content_file}: {p}"
        for p in release_problems(load_content(settings.content_file))
    ]


def _refused(what: str, problems: list[str]) -> bool:
    """Print why ``what`` cannot start, one line each; True when there is any reason."""
    if problems:
        print(f"cse-triage: {what} cannot start:", file=sys.stderr)
        for line in problems:
            print(f"  {line}", file=sys.stderr)
    return bool(problems)


def cmd_telegram(settings: Settings, args: argparse.Namespace) -> int:
    """Telegram mode, refused until settings and contacts are fit for real use."""
    from bot.telegram.app import run_telegram

    problems = settings.telegram_problems() + _content_problems(settings)
    if _refused("Telegram mode", problems + _contacts_problems(settings)):
        return 2
    wiring.fixed_time(args.now)  # a mistyped --now stops here, before anything starts
    beside = _web_beside(settings) if settings.web_enabled else None
    return run_telegram(settings, lambda: wiring.runtime(settings, args.now, kind="telegram"), beside=beside)


def _web_app(settings: Settings, service: CheckService) -> ASGIApp:
    """The web page over ``service``, with the settings both ways of serving it share."""
    from bot.web.routes import create_app

    return create_app(
        service,
        secret=settings.chat_key_bytes(),
        ttl_hours=settings.session_ttl_hours,
        body_timeout=settings.web_body_timeout,
        new_checks_per_minute=settings.web_new_checks_per_minute,
    )


def _web_beside(settings: Settings) -> Callable[[CheckService], Callable[[asyncio.Event], Awaitable[None]]]:
    """WEB_ENABLED=true: the web page over the Telegram service's sibling (channel web), served
    from the webhook's process and event loop on WEB_LISTEN:WEB_PORT."""
    from bot.web.server import serve_beside

    def make(service: CheckService) -> Callable[[asyncio.Event], Awaitable[None]]:
        app = _web_app(settings, service.sibling("web"))
        print(f"The web page is on http://{settings.web_listen}:{settings.web_port}/", flush=True)
        return lambda stop: serve_beside(
            app,
            host=settings.web_listen,
            port=settings.web_port,
            stop=stop,
            idle_timeout=settings.web_idle_timeout,
        )

    return make


def cmd_web(settings: Settings, args: argparse.Namespace) -> int:
    """The check as a web page (bot/web): same content, rules, contacts routing and store."""
    from bot.web.server import serve

    problems = settings.secret_problems()
    contacts_problems = _contacts_problems(settings)
    if args.draft:
        # A reviewer previewing a draft contacts file: its problems are shown, not refused.
        for line in contacts_problems:
            print(f"note: {line}")
        contacts_problems = []
    if _refused("the web page", problems + contacts_problems):
        return 2
    # A run pretending another time (--now) is practice, never counted, as in the terminal; a
    # draft preview is never counted either, and says "DRAFT – not for use" on every page.
    runtime = wiring.runtime(settings, args.now, kind="web", counting=args.now is None, draft=args.draft)
    service = runtime.service
    if service.draft:
        print(f"{service.flow.content.texts.draft_banner} Nothing from this preview is counted.")
    app = _web_app(settings, service)
    host, port = settings.web_listen, args.port or settings.web_port
    runtime.serve_metrics()  # Prometheus /metrics off the public page, as in polling mode
    if settings.contacts_file is None:
        print("No CONTACTS_FILE set: the page shows the example contacts, marked not for real use.")
    print(f"The check is on http://{host}:{port}/ (Ctrl-C stops it)", flush=True)
    # As in Telegram mode: expired checks purged at start-up and every few minutes, and (with
    # CONTACTS_FILE) SIGHUP (`cse-triage reload`) re-reads the contacts file, checking it first.
    serve(app, host=host, port=port, idle_timeout=settings.web_idle_timeout, lifecycle=runtime)
    return 0
