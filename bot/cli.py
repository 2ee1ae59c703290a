"""Command line: `cse-triage run|console|telegram|validate|purge|backup|…` (also `python -m bot`):
the arguments, the settings, and each command handed to its module in bot/commands/ (the channels;
the committee's files; the service's data and processes).

`run` is what `make run` calls: Telegram mode when TELEGRAM_BOT_TOKEN is set, otherwise the same
check in the terminal.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bot import logs
from bot.commands import channels, files, operations
from bot.config import Settings, SettingsError, load_settings, settings_help
from flows.contacts import ContactsError
from flows.schema import ContentError
from storage.base import StoreUnavailable


def _with_files(settings: Settings, args: argparse.Namespace) -> Settings:
    """The settings with ``--content`` / ``--contacts`` (a reviewer's draft files) in place."""
    update = {
        key: value
        for key, value in (
            ("content_file", getattr(args, "content", None)),
            ("contacts_file", getattr(args, "contacts", None)),
        )
        if value is not None
    }
    return settings.model_copy(update=update) if update else settings


COMMANDS: dict[str, tuple[Callable[[Settings, argparse.Namespace], int], str]] = {
    "run": (channels.cmd_run, "Telegram when TELEGRAM_BOT_TOKEN is set, otherwise the terminal check"),
    "console": (channels.cmd_console, "the check in this terminal"),
    "telegram": (channels.cmd_telegram, "the Telegram bot (polling or webhook, from BOT_MODE)"),
    "web": (channels.cmd_web, "the check as a web page (WEB_LISTEN, WEB_PORT; --port to override)"),
    "purge": (operations.cmd_purge, "delete expired checks now"),
    "reload": (
        operations.cmd_reload,
        "validate the contacts file, then have the running bot reload it (SIGHUP)",
    ),
    "backup": (operations.cmd_backup, "back up the database to PATH (SQLite), or print the pg_dump command"),
    "diagram": (files.cmd_diagram, "write the flow as a Mermaid diagram, flow.mmd, to --out"),
    "reference": (files.cmd_reference, "write the printable quick reference (.md, .html) to --out"),
    "stats": (operations.cmd_stats, "anonymous figures for service leads (counts only)"),
    "impact": (
        files.cmd_impact,
        "what a content change does to every distinguishable answer and the case library",
    ),
    "validate": (files.cmd_validate, "check the content and contacts files; non-zero exit on any problem"),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="cse-triage",
        description=__doc__,
        epilog=settings_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command")
    for name, (_, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--now", help="pretend it is this local time, e.g. '2026-12-05 21:40'")
        if name == "web":
            p.add_argument("--port", type=int, help="listen on this port instead of WEB_PORT")
        if name in ("console", "web", "validate"):
            p.add_argument(
                "--draft",
                action="store_true",
                help="preview or check a draft: 'DRAFT - not for use' on every screen, never counted",
            )
            p.add_argument("--content", type=Path, help="this content file instead of CONTENT_FILE")
            p.add_argument("--contacts", type=Path, help="this contacts file instead of CONTACTS_FILE")
        if name in ("diagram", "reference"):
            p.add_argument(
                "--out", type=Path, default=Path("."), help="the folder to write to (default: this one)"
            )
        if name == "impact":
            p.add_argument("old", help="the content now: a file, or a git revision (e.g. main, HEAD~1)")
            p.add_argument("new", help="the proposed content: a file, or a git revision")
            p.add_argument("--contacts", type=Path, help="this contacts file instead of CONTACTS_FILE")
            p.add_argument("--cases", type=Path, help="the case library (default: cases.yaml by the content)")
            p.add_argument("--format", choices=("md", "html"), default="md")
            p.add_argument("--budget", type=int, default=2_000_000, help="most combinations to walk")
            p.add_argument("--out", help="write the report to this file instead of printing it")
        if name == "validate":
            p.add_argument("--cases", type=Path, help="the case library (default: cases.yaml by the content)")
        if name == "backup":
            p.add_argument("path", help="the new backup file (SQLite) or dump file (PostgreSQL)")
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    logs.configure("WARNING")
    try:
        settings = _with_files(load_settings(), args)
        # LOG_LEVEL applies to our own loggers; libraries that could log the token or an update's
        # contents stay at WARNING (see bot.telegram.app.quiet_libraries), and whatever they log
        # passes the body filter on every handler (bot.logs.NoBodies).
        logs.configure(settings.log_level, settings.log_format)
        return COMMANDS[args.command][0](settings, args)
    except (SettingsError, ContentError, ContactsError, StoreUnavailable) as err:
        print(f"cse-triage: {err}", file=sys.stderr)
        return 2
