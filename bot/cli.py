"""Command line: `cse-triage run|console|telegram|validate|purge|backup|…` (also `python -m bot`).

`run` is what `make run` calls: Telegram mode when TELEGRAM_BOT_TOKEN is set, otherwise the same
check in the terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import secrets
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from bot import logs, wiring
from bot.config import Settings, SettingsError, load_settings, settings_help
from bot.readiness import check_contacts
from bot.service import CheckService
from flows.contacts import EXAMPLE_CONTACTS, ContactsError, YamlDirectory
from flows.schema import Content, ContentError, load_content, release_problems
from storage.base import StoreUnavailable, chat_key
from storage.deferred import DeferredStore


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


def cmd_stats(settings: Settings, args: argparse.Namespace) -> int:
    """Anonymous figures: checks per week by level and service, abandoned checks, lookups used."""
    from bot.render import to_text
    from bot.stats import load_stats

    service = wiring.service(settings, args.now)

    async def figures() -> str:
        try:
            screen = await load_stats(service.store, service.flow.content, today=service.clock().date())
            return to_text(screen)
        finally:
            await service.store.close()

    print(asyncio.run(figures()))
    return 0


def _write(path: Path, text: str) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0


def cmd_diagram(settings: Settings, args: argparse.Namespace) -> int:
    """Write the flow, generated from the state machine, to flow.mmd in --out."""
    from flows.diagram import mermaid

    return _write(args.out / "flow.mmd", mermaid(wiring.flow(settings)))


def cmd_reference(settings: Settings, args: argparse.Namespace) -> int:
    """Write the printable quick reference, with the contacts file's numbers, to --out (.md, .html).

    Where the deployer says, the current folder by default: never over the repository's docs/,
    whose copies are generated from the shipped example files (`--out docs`) and checked by a test."""
    from flows.reference import quick_reference, quick_reference_html

    content, directory = wiring.content(settings), wiring.contacts(settings)
    _write(args.out / "quick-reference.md", quick_reference(content, directory))
    return _write(args.out / "quick-reference.html", quick_reference_html(content, directory))


def cmd_purge(settings: Settings, _args: argparse.Namespace) -> int:
    """Delete expired checks and old update ids now (the bot also does this every 15 minutes)."""
    from storage.sql.store import SqlStore

    store = SqlStore(url=wiring.database_url(settings), ttl=dt.timedelta(hours=settings.session_ttl_hours))
    purged = asyncio.run(store.purge(now=dt.datetime.now(dt.UTC)))
    asyncio.run(store.close())
    print(f"purged {purged} expired checks")
    return 0


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    """Back up the database while the bot runs (SQLite), or print the pg_dump command (PostgreSQL)."""
    from storage.sql.backup import BackupError, backup

    try:
        print(backup(wiring.database_url(settings), Path(args.path)))
    except BackupError as err:
        print(f"cse-triage: {err}", file=sys.stderr)
        return 1
    return 0


def cmd_reload(settings: Settings, _args: argparse.Namespace) -> int:
    """Validate the contacts file, then ask every running Telegram process on this host to reload it."""
    from bot.reload import signal_workers

    if settings.contacts_file is None:
        print("cse-triage: CONTACTS_FILE is not set; nothing to reload", file=sys.stderr)
        return 2
    checked = check_contacts(settings.contacts_file)
    if not checked.fit:
        print("cse-triage: not reloaded; the running bot keeps its last good contacts:", file=sys.stderr)
        for line in checked.problems:
            print(f"  {line}", file=sys.stderr)
        return 1
    sent = signal_workers(settings.run_dir)
    print(f"{settings.contacts_file} is valid; asked {sent} running process(es) to reload it")
    return 0 if sent else 1


def cmd_validate(settings: Settings, args: argparse.Namespace) -> int:
    """Check the content and contacts files; print each problem; non-zero exit on any.

    The content version must have a changelog entry; with ``--draft`` an entry not yet approved
    is allowed (a reviewer checking a draft), otherwise it is a problem too."""
    problems: list[str] = []
    try:
        content = load_content(settings.content_file)
    except ContentError as err:
        problems += str(err).splitlines()
    else:
        release = release_problems(content)
        if args.draft and content.release() is not None:
            for line in release:
                print(f"{settings.content_file}: note: {line}")
        else:
            problems += [f"{settings.content_file}: {line}" for line in release]
    contacts = settings.contacts_file or EXAMPLE_CONTACTS
    # Every problem at once, even when the file's structure is broken; lines due a check are
    # warnings (exit 0) until they are too old.
    checked = check_contacts(Path(contacts), wiring.fixed_time(args.now))
    problems += checked.problems
    for line in checked.warnings:
        print(f"{contacts}: warning: {line}", file=sys.stderr)
    # The case library, over these contacts (when both files load).
    if "content" in locals() and checked.directory is not None:
        problems += _case_library(content, checked.directory, args.cases or _cases_file(settings))
    for line in problems:
        print(line, file=sys.stderr)
    if not problems:
        print(f"OK: {settings.content_file} and {contacts}")
    return 1 if problems else 0


def _case_library(content: Content, directory: YamlDirectory, path: Path) -> list[str]:
    """Run the case library (printing its coverage and disputed cases); its failures."""
    from flows.cases import CasesError, coverage, load_cases, run_library
    from flows.machine import Flow

    if not path.is_file():
        print(f"note: no case library at {path}: nothing tests this content's advice")
        return []
    try:
        cases = load_cases(path)
    except CasesError as err:
        return str(err).splitlines()
    runs = run_library(Flow(content, directory.services), directory, cases)
    failed = [f"{path}: case {r.case.id}: {p}" for r in runs for p in r.problems]
    passed = sum(1 for r in runs if not r.problems)
    print(f"Case library {path}: {passed} of {len(runs)} cases pass")
    for line in coverage(content, directory.services, runs).lines():
        print(f"  coverage: {line}")
    for case in cases:
        if case.disputed is not None:
            print(f"  disputed (not run): {case.id}: {case.disputed}")
    return failed


def _content_at(spec: str, settings: Settings) -> tuple[Content, str]:
    """A content file given as a path, or as a git revision (``HEAD~1``, ``main``; or
    ``REV:path``) of CONTENT_FILE in this repository."""
    import subprocess

    from flows.schema import parse_content, safe_yaml

    if Path(spec).is_file():
        return load_content(spec), spec
    rev, sep, path = spec.partition(":")
    if not sep:
        git = ["git", "rev-parse", "--show-toplevel"]
        top = subprocess.run(git, capture_output=True, text=True, check=False).stdout.strip()  # noqa: S603, S607 - git from PATH, fixed arguments
        path = str(settings.content_file.resolve().relative_to(Path(top).resolve())) if top else ""
    # A list of arguments, never a shell: the revision cannot run anything.
    git = ["git", "show", f"{rev}:{path}"]
    shown = subprocess.run(git, capture_output=True, text=True, check=False)  # noqa: S603, S607 - as above
    if shown.returncode != 0:
        why = shown.stderr.strip()
        raise ContentError(spec, [f"(file): not a file, nor a git revision of {path}: {why}"])
    return parse_content(safe_yaml(shown.stdout), f"{rev}:{path}"), f"{rev}:{path}"


def cmd_impact(settings: Settings, args: argparse.Namespace) -> int:
    """What changing the content from OLD to NEW does to every answer the rules can tell apart,
    and to the case library: Markdown or HTML; exit 1 when a library case moves."""
    from flows.cases import CasesError, load_cases
    from flows.impact import ImpactError, compare, report

    old, old_name = _content_at(args.old, settings)
    new, new_name = _content_at(args.new, settings)
    directory = wiring.contacts(settings)
    cases_file = args.cases or _cases_file(settings)
    try:
        cases = load_cases(cases_file) if cases_file.is_file() else []
        impact = compare(old, new, directory, cases, budget=args.budget)
    except (CasesError, ImpactError) as err:
        print(f"cse-triage: {err}", file=sys.stderr)
        return 2
    text = report(impact, fmt=args.format, old_name=old_name, new_name=new_name)
    if args.out:
        _write(Path(args.out), text)
    else:
        print(text)
    return 1 if impact.moved_cases else 0


def _cases_file(settings: Settings) -> Path:
    """The case library kept with the content: ``cases.yaml`` beside the content file."""
    return settings.content_file.with_name("cases.yaml")


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    if settings.telegram_bot_token is not None:
        return cmd_telegram(settings, args)
    print("No TELEGRAM_BOT_TOKEN set: running the check in this terminal.\n")
    return cmd_console(settings, args)


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


def _web_beside(settings: Settings) -> Callable[[CheckService], Callable[[asyncio.Event], Awaitable[None]]]:
    """WEB_ENABLED=true: the web page over the Telegram service's sibling (channel web), served
    from the webhook's process and event loop on WEB_LISTEN:WEB_PORT."""
    from bot.web.routes import create_app
    from bot.web.server import serve_beside

    secret = settings.chat_key_bytes()

    def make(service: CheckService) -> Callable[[asyncio.Event], Awaitable[None]]:
        app = create_app(
            service.sibling("web"),
            secret=secret,
            ttl_hours=settings.session_ttl_hours,
            body_timeout=settings.web_body_timeout,
            new_checks_per_minute=settings.web_new_checks_per_minute,
        )
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
    from bot.web.routes import create_app
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
    app = create_app(
        service,
        secret=settings.chat_key_bytes(),
        ttl_hours=settings.session_ttl_hours,
        body_timeout=settings.web_body_timeout,
        new_checks_per_minute=settings.web_new_checks_per_minute,
    )
    host, port = settings.web_listen, args.port or settings.web_port
    runtime.serve_metrics()  # Prometheus /metrics off the public page, as in polling mode
    if settings.contacts_file is None:
        print("No CONTACTS_FILE set: the page shows the example contacts, marked not for real use.")
    print(f"The check is on http://{host}:{port}/ (Ctrl-C stops it)", flush=True)
    # As in Telegram mode: expired checks purged at start-up and every few minutes, and (with
    # CONTACTS_FILE) SIGHUP (`cse-triage reload`) re-reads the contacts file, checking it first.
    serve(app, host=host, port=port, idle_timeout=settings.web_idle_timeout, lifecycle=runtime)
    return 0


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
    "run": (cmd_run, "Telegram when TELEGRAM_BOT_TOKEN is set, otherwise the terminal check"),
    "console": (cmd_console, "the check in this terminal"),
    "telegram": (cmd_telegram, "the Telegram bot (polling or webhook, from BOT_MODE)"),
    "web": (cmd_web, "the check as a web page (WEB_LISTEN, WEB_PORT; --port to override)"),
    "purge": (cmd_purge, "delete expired checks now"),
    "reload": (cmd_reload, "validate the contacts file, then have the running bot reload it (SIGHUP)"),
    "backup": (cmd_backup, "back up the database to PATH (SQLite), or print the pg_dump command"),
    "diagram": (cmd_diagram, "write the flow as a Mermaid diagram, flow.mmd, to --out"),
    "reference": (cmd_reference, "write the printable quick reference (.md, .html) to --out"),
    "stats": (cmd_stats, "anonymous figures for service leads (counts only)"),
    "impact": (cmd_impact, "what a content change does to every distinguishable answer and the case library"),
    "validate": (cmd_validate, "check the content and contacts files; non-zero exit on any problem"),
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
