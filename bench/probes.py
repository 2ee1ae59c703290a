"""Measurements that need a fresh process: memory with many stored checks, and start-up time.

Memory: the parent writes N open conversations straight into a new SQLite file (one bulk insert),
then a child process (``python -m bench.probes memory ...``) opens it the way the bot does, runs a
few complete checks and lookups that read stored conversations, and reports its resident memory.
The bot keeps no conversation in memory, so the figure should not depend on N.

Start-up: the wall-clock time from spawning ``python -m bot console`` until the welcome screen is
printed, and from spawning ``python -m bot telegram`` (polling a Bot API double served over HTTP on
127.0.0.1, with a filled-in contacts file) until its ``setMyCommands`` call arrives.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlmodel import SQLModel

from bench.double import BenchTelegram, TimedRequest
from bench.load import (
    TOKEN,
    Load,
    Practitioner,
    UpdateIds,
    bot_settings,
    lift_rate_limit,
    process,
    scripts,
)
from bot import wiring
from bot.telegram.app import build_application
from flows.contacts import EXAMPLE_CONTACTS, load_directory
from flows.machine import Flow
from flows.schema import load_content
from storage.base import chat_key
from storage.sql.schema import migrate
from storage.sql.store import SqlStore
from storage.tables import ConversationRow
from testkit.botapi import BOT_ID, message, serving
from testkit.deploy import filled_contacts
from testkit.helpers import stop_bot

ROOT = Path(__file__).resolve().parents[1]
STORED_FIRST_CHAT = 10_000_000
PROBE_CHECKS = 40  # complete checks the probe runs after opening the store (half of them to warm up)
PROBE_LOOKUPS = 200  # at most this many lookups on stored conversations (each reads its row)
CONSOLE_READY = "Type a number"


def rss_kib() -> dict[str, int]:
    """Resident set size now and at its peak (VmRSS, VmHWM), in KiB, from /proc/self/status."""
    out: dict[str, int] = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1])
    return out


def reset_peak_rss() -> bool:
    """Reset VmHWM (Linux >= 4.0); False where that is not allowed."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


# -- memory with many stored conversations ---------------------------------------------------
def store_open_conversations(url: str, secret: str, count: int) -> None:
    """Insert ``count`` open checks (at their first step) straight into a migrated database."""
    migrate(url)
    directory = load_directory(EXAMPLE_CONTACTS)
    flow = Flow(load_content(), directory.services)
    conv = flow.new()
    flow.fire(conv, "start")
    data = conv.to_dict()
    now = dt.datetime.now(dt.UTC)
    store = SqlStore(url=url, ttl=dt.timedelta(hours=24))
    table = SQLModel.metadata.tables[str(ConversationRow.__tablename__)]
    rows = [
        {
            "key": chat_key(secret.encode(), BOT_ID, STORED_FIRST_CHAT + i),
            "check_id": secrets.token_urlsafe(6),
            "version": 1,
            "state": data["state"],
            "data": data,
            "anchor_message_id": 1,
            "content_version": flow.content.meta.version,
            "updated_at": now,
            "expires_at": now + dt.timedelta(hours=24),
        }
        for i in range(count)
    ]
    with store.engine.begin() as connection:
        for start in range(0, len(rows), 5000):
            connection.execute(insert(table), rows[start : start + 5000])
    store.engine.dispose()


async def _probe(url: str, secret: str, stored: int, checks: int) -> dict[str, Any]:
    settings = bot_settings(url, secret)
    service = wiring.service(settings)
    api = BenchTelegram()
    app = build_application(settings, service, request=TimedRequest(api))
    lift_rate_limit(app)
    titles = {level: outcome.title for level, outcome in service.flow.content.outcomes.items()}
    load, ids = Load(), UpdateIds()
    async with app:
        who = Practitioner(app, api, load, ids, titles)
        plan = scripts(checks, first_chat=1)
        await asyncio.gather(*(who.run(s) for s in plan[: checks // 2]))  # warm up
        gc.collect()
        before = rss_kib()["VmRSS"]
        await asyncio.gather(*(who.run(s) for s in plan[checks // 2 :]))
        step = max(1, stored // min(PROBE_LOOKUPS, checks * 5))
        for i in range(0, stored, step):
            chat = STORED_FIRST_CHAT + i
            await process(app, message(api, chat, "/contacts", update_id=ids()), "command", load.logs)
            api.forget_chat(chat)
        gc.collect()
        after = rss_kib()
        await service.store.close()
    return {
        "stored": stored,
        "rss_before_kib": before,
        "rss_after_kib": after["VmRSS"],
        "peak_kib": after["VmHWM"],
        "updates": len(load.logs),
        "failures": load.failures,
    }


def memory_with_stored(count: int, folder: Path, checks: int = PROBE_CHECKS) -> dict[str, Any]:
    """Resident memory of a fresh bot process over a database holding ``count`` open checks."""
    url = f"sqlite:///{folder / f'stored-{count}.sqlite3'}"
    secret = secrets.token_urlsafe(32)
    store_open_conversations(url, secret, count)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CSE_BENCH_SECRET": secret}
    result = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bench.probes", "memory", url, str(count), str(checks)],
        env=env,
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


# -- start-up time ------------------------------------------------------------------------------
def _clean_env(folder: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_", "CONTACTS_"))}
    env.update(PYTHONPATH=str(ROOT), DATABASE_URL=f"sqlite:///{folder / 'start.sqlite3'}", **extra)
    return env


def console_start_seconds(folder: Path) -> float:
    """Spawn ``python -m bot console``; seconds until the welcome screen is printed."""
    started = time.perf_counter()
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bot", "console"],
        cwd=folder,
        env=_clean_env(folder),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    try:
        for line in proc.stdout:
            if CONSOLE_READY in line:
                return time.perf_counter() - started
        raise RuntimeError("the terminal check exited without showing the welcome screen")
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def telegram_start_seconds(folder: Path) -> float:
    """Spawn ``python -m bot telegram`` polling a local Bot API double; seconds until setMyCommands."""
    api = BenchTelegram()
    async with serving(api) as url:
        seen: list[float] = []
        original = api.handle

        def handle(method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            if method == "setMyCommands" and not seen:
                seen.append(time.perf_counter())
            return original(method, params)

        api.handle = handle  # type: ignore[method-assign]
        env = _clean_env(
            folder,
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=url,
            CHAT_KEY_SECRET=secrets.token_urlsafe(32),
            CONTACTS_FILE=str(filled_contacts(folder)),
            BOT_MODE="polling",
        )
        started = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "telegram",
            cwd=folder,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            deadline = started + 60
            while not seen:
                if proc.returncode is not None or time.perf_counter() > deadline:
                    raise RuntimeError("Telegram mode did not start (no setMyCommands)")
                await asyncio.sleep(0.005)
            return seen[0] - started
        finally:
            await stop_bot(proc)


def start_up(runs: int) -> dict[str, float]:
    """Median start-up seconds of each mode over ``runs`` starts, each in a fresh folder."""
    console: list[float] = []
    telegram: list[float] = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="cse-bench-") as tmp:
            console.append(console_start_seconds(Path(tmp)))
        with tempfile.TemporaryDirectory(prefix="cse-bench-") as tmp:
            telegram.append(asyncio.run(telegram_start_seconds(Path(tmp))))
    return {"console_s": statistics.median(console), "telegram_s": statistics.median(telegram)}


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.probes")
    sub = parser.add_subparsers(dest="probe", required=True)
    mem = sub.add_parser("memory", help="resident memory over a database of stored conversations")
    mem.add_argument("url")
    mem.add_argument("stored", type=int)
    mem.add_argument("checks", type=int)
    args = parser.parse_args(argv)
    figures = asyncio.run(_probe(args.url, os.environ["CSE_BENCH_SECRET"], args.stored, args.checks))
    print(json.dumps(figures))  # noqa: T201 - the parent reads this line
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
