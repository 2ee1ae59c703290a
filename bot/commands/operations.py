"""The commands for whoever runs the service, over its data and its running processes: `stats`
(anonymous figures), `purge` (expired checks now), `backup`, and `reload` (check the contacts
file, then have every running process on this host re-read it).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from pathlib import Path

from bot import wiring
from bot.config import Settings
from bot.readiness import check_contacts


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


def cmd_purge(settings: Settings, _args: argparse.Namespace) -> int:
    """Delete expired checks and old update ids now (the bot also does this every 15 minutes)."""
    store = wiring.sql_store(settings)
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
