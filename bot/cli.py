"""Command line: `cse-triage run|console|telegram|validate|purge` (also `python -m bot`).

`run` is what `make run` calls: Telegram mode when TELEGRAM_BOT_TOKEN is set, otherwise the same
check in the terminal.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from collections.abc import Callable, Sequence
from zoneinfo import ZoneInfo

from bot.config import Settings, SettingsError, load_settings
from flows.contacts import Directory, GenericDirectory
from flows.machine import Flow
from flows.schema import ContentError, load_content

LONDON = ZoneInfo("Europe/London")


def _clock(now: str | None) -> Callable[[], dt.datetime]:
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


def _directory(settings: Settings) -> Directory:
    """Contacts in general terms (the contacts file arrives with issue 5)."""
    del settings
    return GenericDirectory()


def _flow(settings: Settings, directory: Directory) -> Flow:
    return Flow(load_content(settings.content_file), directory.services)


def cmd_console(settings: Settings, args: argparse.Namespace) -> int:
    from bot.console import run_console
    from bot.service import CheckService
    from storage.memory import MemoryStore

    directory = _directory(settings)
    service = CheckService(
        flow=_flow(settings, directory), store=MemoryStore(), directory=directory, clock=_clock(args.now)
    )
    return run_console(service)


def cmd_validate(settings: Settings, _args: argparse.Namespace) -> int:
    problems: list[str] = []
    try:
        load_content(settings.content_file)
    except ContentError as err:
        problems += str(err).splitlines()
    for line in problems:
        print(line, file=sys.stderr)
    if not problems:
        print(f"OK: {settings.content_file}")
    return 1 if problems else 0


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    if settings.telegram_bot_token is not None:
        return cmd_telegram(settings, args)
    print("No TELEGRAM_BOT_TOKEN set: running the check in this terminal.\n")
    return cmd_console(settings, args)


def cmd_telegram(_settings: Settings, _args: argparse.Namespace) -> int:
    print("cse-triage: Telegram mode is not built yet (issue 3); use `cse-triage console`.", file=sys.stderr)
    return 2


COMMANDS: dict[str, tuple[Callable[[Settings, argparse.Namespace], int], str]] = {
    "run": (cmd_run, "Telegram when TELEGRAM_BOT_TOKEN is set, otherwise the terminal check"),
    "console": (cmd_console, "the check in this terminal"),
    "telegram": (cmd_telegram, "the Telegram bot (polling or webhook, from BOT_MODE)"),
    "validate": (cmd_validate, "check the content and contacts files; non-zero exit on any problem"),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cse-triage", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    for name, (_, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--now", help="pretend it is this local time, e.g. '2026-12-05 21:40'")
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.WARNING)
    try:
        settings = load_settings()
        return COMMANDS[args.command][0](settings, args)
    except (SettingsError, ContentError) as err:
        print(f"cse-triage: {err}", file=sys.stderr)
        return 2
