"""``make bench``: run the whole benchmark in one process and print one table (optionally JSON).

Order: a short warm-up of both applications; N checks on SQLite, then the floor on the same
updates; the same on PostgreSQL when ``DATABASE_URL`` names one (in a schema of its own, dropped
afterwards); memory with 1,000 and 50,000 stored open checks (child processes); start-up times;
how long another chat's /emergency waits while one chat floods the bot (``testkit/flood.py``).
Figures are side by side from the same run, so the ratios hold on a noisy machine even when the
absolute numbers do not.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import statistics
import sys
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import telegram
from sqlalchemy import create_engine, make_url, text

from bench import web
from bench.double import UpdateLog, sequential_by_time, sequential_round_trips
from bench.load import CONCURRENCY, Load, bot_settings, run_bot, run_floor, scripts
from bench.probes import PROBE_CHECKS, memory_with_stored, reset_peak_rss, rss_kib, start_up
from bench.report import GOAL_SEQUENTIAL, goals, table
from bot import wiring
from storage.sql.engine import database_url
from testkit.flood import flood

WARM_UP = 12
ROUND_TRIP_CHECKS = 200  # checks run with a simulated round-trip time, to count waits
# Few enough at once that a database transaction stays shorter than a round trip: a call made
# beside the database work then overlaps it, so only calls awaited one after another count.
ROUND_TRIP_AT_ONCE = 8


# -- figures --------------------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def timing(load: Load) -> dict[str, float]:
    """Throughput and per-update time of one run."""
    times = [log.seconds * 1000 for log in load.logs]
    n = len(times)
    return {
        "updates": n,
        "seconds": load.seconds,
        "updates_per_s": n / load.seconds if load.seconds else float("nan"),
        "median_ms": statistics.median(times) if times else float("nan"),
        "p95_ms": percentile(times, 95),
        "p99_ms": percentile(times, 99),
        "cpu_ms_per_update": load.cpu_seconds * 1000 / n if n else float("nan"),
    }


def round_trips(logs: Sequence[UpdateLog]) -> dict[str, Any]:
    """Bot API calls per update, and how many the practitioner waits for one after another."""
    out: dict[str, Any] = {}
    for kind in ("tap", "command"):
        of_kind = [log for log in logs if log.kind == kind]
        if not of_kind:
            continue
        calls = [len(log.calls) for log in of_kind]
        chains = [sequential_round_trips(log.calls) for log in of_kind]
        by_time = [sequential_by_time(log.calls) for log in of_kind]
        methods: dict[str, int] = {}
        for log in of_kind:
            for span in log.calls:
                methods[span.method] = methods.get(span.method, 0) + 1
        out[kind] = {
            "count": len(of_kind),
            "calls_mean": statistics.fmean(calls),
            "calls_max": max(calls),
            "sequential_mean": statistics.fmean(chains),
            "sequential_max": max(chains),
            "over_goal": sum(1 for c in chains if c > GOAL_SEQUENTIAL),
            "by_time_max": max(by_time),
            "by_time_over_goal": sum(1 for c in by_time if c > GOAL_SEQUENTIAL),
            "over_goal_examples": [
                " → ".join(f"{c.method}[{c.start}-{c.end}]" for c in sorted(log.calls, key=lambda c: c.start))
                for log, chain in zip(of_kind, by_time, strict=True)
                if chain > GOAL_SEQUENTIAL
            ][:5],
            "methods_per_update": {m: c / len(of_kind) for m, c in sorted(methods.items())},
        }
    return out


def calls_by_method(load: Load) -> dict[str, int]:
    """How many Bot API calls of each method a run made."""
    out: dict[str, int] = {}
    for log in load.logs:
        for call in log.calls:
            out[call.method] = out.get(call.method, 0) + 1
    return dict(sorted(out.items()))


def ratios(ours: dict[str, float], floor: dict[str, float]) -> dict[str, float]:
    """Ours over the floor, for every cost (throughput inverted, so > 1 always means slower)."""
    out = {k: ours[k] / floor[k] for k in ("median_ms", "p95_ms", "p99_ms", "cpu_ms_per_update")}
    out["updates_per_s"] = floor["updates_per_s"] / ours["updates_per_s"]
    return out


# -- stores ---------------------------------------------------------------------------------------
@contextmanager
def postgres_schema(url: str) -> Iterator[str]:
    """A fresh schema in the given PostgreSQL database, used through search_path, dropped afterwards."""
    schema = f"cse_bench_{secrets.token_hex(4)}"
    admin = create_engine(database_url(url))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


async def one_store(url: str, conversations: int, first_chat: int) -> tuple[Load, Load, Load, int]:
    """N checks on the store at ``url``, then both floors on the same updates; and the peak RSS
    (KiB): the plain floor (one call per update, no keyboard) and the same-traffic floor (the
    bot's own calls and keyboards, replayed through bare PTB)."""
    settings = bot_settings(url)
    service = wiring.service(settings)
    reset_peak_rss()
    ours = await run_bot(service, settings, scripts(conversations, first_chat))
    peak = rss_kib()["VmHWM"]
    floor = await run_floor(ours.updates)
    same = await run_floor(ours.updates, ours.logs)
    return ours, floor, same, peak


async def with_round_trip_time(url: str, conversations: int, rtt_ms: float) -> Load:
    """Checks on SQLite with every Bot API call taking ``rtt_ms``: who waits for what."""
    settings = bot_settings(url)
    plan = scripts(min(conversations, ROUND_TRIP_CHECKS), 300_000)
    service = wiring.service(settings)
    return await run_bot(service, settings, plan, rtt=rtt_ms / 1000, at_once=ROUND_TRIP_AT_ONCE)


async def warm_up(url: str, conversations: int) -> None:
    """Imports, caches and the first connections, for both applications, before anything is timed."""
    settings = bot_settings(url)
    load = await run_bot(wiring.service(settings), settings, scripts(conversations, 1))
    await run_floor(load.updates)
    await run_floor(load.updates, load.logs)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Every figure, as a JSON-ready dict."""
    report: dict[str, Any] = {"machine": machine(), "conversations": args.conversations}
    report["concurrency"] = CONCURRENCY
    stores: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="cse-bench-") as tmp:
        folder = Path(tmp)
        stores["sqlite"] = f"sqlite:///{folder / 'bench.sqlite3'}"
        asyncio.run(warm_up(stores["sqlite"], min(WARM_UP, args.conversations)))
        runs: dict[str, Any] = {}
        runs["sqlite"] = asyncio.run(one_store(stores["sqlite"], args.conversations, 100_000))
        pg = os.environ.get("DATABASE_URL", "")
        if pg.startswith(("postgres://", "postgresql")):
            with postgres_schema(pg) as scoped:
                runs["postgresql"] = asyncio.run(one_store(scoped, args.conversations, 200_000))
        for name, (ours, floor, same, peak) in runs.items():
            ours_t, floor_t, same_t = timing(ours), timing(floor), timing(same)
            report[name] = {
                "ours": ours_t,
                "floor": floor_t,
                "ratio": ratios(ours_t, floor_t),
                "same_floor": same_t,
                "same_ratio": ratios(ours_t, same_t),
                "calls": {
                    side: calls_by_method(load) for side, load in (("ours", ours), ("same_floor", same))
                },
                "peak_rss_mb": peak / 1024,
                "reached": ours.reached,
                "failures": ours.failures[:20],
                "failure_count": len(ours.failures),
            }
        slow = asyncio.run(with_round_trip_time(stores["sqlite"], args.conversations, args.rtt_ms))
        report["round_trips"] = {
            "rtt_ms": args.rtt_ms,
            "at_once": ROUND_TRIP_AT_ONCE,
            "checks": len(slow.updates),
            "tap_ms": timing(Load([log for log in slow.logs if log.kind == "tap"])),
            **round_trips(slow.logs),
        }
        report["round_trips"]["failure_count"] = len(slow.failures)
        small, large = args.stored
        checks = min(PROBE_CHECKS, 2 * args.conversations)
        with ThreadPoolExecutor(2) as pool:  # two child processes; only their memory is measured
            probes = [pool.submit(memory_with_stored, n, folder, checks) for n in (small, large)]
            mem_small, mem_large = (p.result() for p in probes)
        report["memory"] = {
            "stored_small": small,
            "stored_large": large,
            "rss_small_mb": mem_small["rss_after_kib"] / 1024,
            "rss_large_mb": mem_large["rss_after_kib"] / 1024,
            "growth_mb": (mem_large["rss_after_kib"] - mem_small["rss_after_kib"]) / 1024,
            "probe_failures": mem_small["failures"] + mem_large["failures"],
        }
    report["start_up"] = start_up(args.startup_runs) if args.startup_runs else {}
    report["flood"] = flood_figures(args.flood, paced=not args.flood_unpaced) if args.flood else {}
    report["web"] = web_figures(args)
    report["goals"] = goals(report) + (report["web"]["goals"] if report["web"] else [])
    return report


def flood_figures(count: int, *, paced: bool) -> dict[str, Any]:
    """One chat queues ``count`` messages, then another sends /emergency (issue 12, §1): how long
    the other chat waited, and how long the flood took to work through."""
    run = asyncio.run(flood(count, paced=paced))
    return {
        "messages": run.count,
        "paced": run.paced,
        "answered_s": run.answered_s,
        "drained_s": run.drained_s,
        "flooder_calls_before_answer": run.flooder_calls_before_answer,
        "slots_held": run.held,
    }


def web_figures(args: argparse.Namespace) -> dict[str, Any]:
    """The web page on a phone (bench/web.py), or {} with --no-web or without Chromium."""
    if not args.web:
        return {}
    from testkit.web_harness import chromium

    browser = chromium()
    if browser is None:
        print("web page figures skipped: no Chromium (scripts/ensure-chromium.sh)", file=sys.stderr)  # noqa: T201
        return {}
    with tempfile.TemporaryDirectory(prefix="cse-bench-web-") as tmp:
        return web.measure(Path(tmp), browser, throttle=not args.web_unthrottled)


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    except OSError:
        pass
    ram_gb = float("nan")
    try:
        with open("/proc/meminfo", encoding="ascii") as info:
            ram_gb = int(next(line for line in info if line.startswith("MemTotal")).split()[1]) / 1024**2
    except (OSError, StopIteration):
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": ram_gb,
        "python": platform.python_version(),
        "ptb": telegram.__version__,
        "platform": platform.platform(),
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("-n", "--conversations", type=int, default=2000, help="complete checks (2000)")
    parser.add_argument(
        "--stored",
        type=lambda v: tuple(int(x) for x in v.split(",")),
        default=(1000, 50_000),
        help="stored open checks for the two memory figures, 'SMALL,LARGE' (1000,50000)",
    )
    parser.add_argument("--startup-runs", type=int, default=3, help="starts per mode; 0 skips (3)")
    parser.add_argument(
        "--rtt-ms", type=float, default=20.0, help="simulated Bot API round trip for counting waits (20)"
    )
    parser.add_argument(
        "--flood",
        type=int,
        default=500,
        help="messages one chat floods before another's /emergency; 0 skips (500)",
    )
    parser.add_argument(
        "--flood-unpaced", action="store_true", help="the flood without PTB's pacing (smoke runs)"
    )
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    parser.add_argument(
        "--no-web", dest="web", action="store_false", help="skip the web page on a phone (Chromium)"
    )
    parser.add_argument(
        "--web-unthrottled", action="store_true", help="the web page at full link speed (smoke runs)"
    )
    args = parser.parse_args(argv)
    if len(args.stored) != 2:
        parser.error("--stored takes two numbers, e.g. 1000,50000")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    report = measure(args)
    print(table(report))  # noqa: T201 - the report is the output
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    failed = sum(report[s]["failure_count"] for s in ("sqlite", "postgresql", "round_trips") if s in report)
    return 1 if failed or report["memory"]["probe_failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
