"""The benchmark's report: the goals, each met or missed with the figure that decides it, and the
plain-text table printed by ``make bench`` and copied into docs/benchmarks.md."""

from __future__ import annotations

from typing import Any

from bench import web

GOAL_RATIO = 1.5
GOAL_SEQUENTIAL = 1
GOAL_GROWTH_MB = 5.0
GOAL_FLOOD_S = 1.0  # another chat's /emergency answered within a second while one chat floods


def goals(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's three goals, each met or missed with the figure that decides it."""
    sqlite = report["sqlite"]
    cost = sqlite["same_ratio"]["cpu_ms_per_update"]
    tap = report["round_trips"]["tap"]
    out = [
        {
            "goal": f"per-update cost ≤ {GOAL_RATIO}× the same-traffic floor on SQLite (CPU per update)",
            "figure": f"{cost:.2f}× (median time {sqlite['same_ratio']['median_ms']:.2f}×; "
            f"{sqlite['ratio']['cpu_ms_per_update']:.2f}× the plain floor)",
            "met": cost <= GOAL_RATIO,
        },
        {
            "goal": f"{GOAL_SEQUENTIAL} Bot API round trip in sequence per tap "
            f"(each call {report['round_trips']['rtt_ms']:g} ms)",
            "figure": f"max {tap['sequential_max']}, mean {tap['sequential_mean']:.2f}; "
            f"{tap['over_goal']} of {tap['count']} taps wait for more",
            "met": tap["sequential_max"] <= GOAL_SEQUENTIAL,
        },
    ]
    mem = report["memory"]
    out.append(
        {
            "goal": f"memory growth < {GOAL_GROWTH_MB:g} MB from {mem['stored_small']:,} to "
            f"{mem['stored_large']:,} stored checks",
            "figure": f"{mem['growth_mb']:+.1f} MB",
            "met": mem["growth_mb"] < GOAL_GROWTH_MB,
        }
    )
    if fl := report["flood"]:
        out.append(
            {
                "goal": f"another chat's /emergency answered within {GOAL_FLOOD_S:g} s while one chat "
                f"floods {fl['messages']} messages ({'paced' if fl['paced'] else 'unpaced'})",
                "figure": f"{fl['answered_s']:.3f} s",
                "met": fl["answered_s"] < GOAL_FLOOD_S,
            }
        )
    return out


# -- the table ------------------------------------------------------------------------------------
def table(report: dict[str, Any]) -> str:
    """The report as a plain-text table for the terminal and for docs/benchmarks.md."""
    m = report["machine"]
    stores = [s for s in ("sqlite", "postgresql") if s in report]
    lines = [
        f"cse-triage benchmark: {report['conversations']:,} checks, "
        f"{report['sqlite']['ours']['updates']:,} updates per store, "
        f"{report['concurrency']} processed at once",
        f"machine: {m['cpus']} CPUs ({m['cpu']}), {m['ram_gb']:.0f} GB RAM, "
        f"Python {m['python']}, python-telegram-bot {m['ptb']}",
        "",
    ]
    head = f"{'per update':<28}{'floor':>10}" + "".join(f"{s:>12}{'× floor':>9}" for s in stores)
    lines += [head, "-" * len(head)]
    rows = [
        ("updates/s", "updates_per_s", "{:,.0f}"),
        ("time, median (ms)", "median_ms", "{:.2f}"),
        ("time, p95 (ms)", "p95_ms", "{:.2f}"),
        ("time, p99 (ms)", "p99_ms", "{:.2f}"),
        ("CPU per update (ms)", "cpu_ms_per_update", "{:.2f}"),
    ]
    for floor_name, floor_key, ratio_key in (
        ("plain floor", "floor", "ratio"),
        ("same-traffic floor", "same_floor", "same_ratio"),
    ):
        lines.append(f"against the {floor_name}:")
        for label, key, fmt in rows:
            line = f"  {label:<26}{fmt.format(report['sqlite'][floor_key][key]):>10}"
            for s in stores:
                line += f"{fmt.format(report[s]['ours'][key]):>12}{report[s][ratio_key][key]:>8.2f}×"
            lines.append(line)
    lines.append(
        "(plain floor: bare PTB, one call per update, no keyboard; same-traffic floor: bare PTB making"
        " the bot's own calls with its keyboards; both measured beside each store on the same updates)"
    )
    if "postgresql" in report:
        pg_floor = report["postgresql"]["floor"]
        lines.append(
            f"(floor beside PostgreSQL: {pg_floor['updates_per_s']:,.0f} updates/s, "
            f"median {pg_floor['median_ms']:.2f} ms)"
        )
    rt = report["round_trips"]
    lines += [
        "",
        f"Bot API calls ({rt['checks']:,} checks on SQLite, {rt['at_once']} at once, "
        f"each call taking {rt['rtt_ms']:g} ms)",
        f"{'':<28}{'calls':>8}{'in sequence: mean':>19}{'max':>6}{'waits > 1':>11}",
    ]
    for kind, label in (("tap", "per tap"), ("command", "per command")):
        if kind in rt:
            r = rt[kind]
            lines.append(
                f"{label:<28}{r['calls_mean']:>8.2f}{r['sequential_mean']:>19.2f}{r['sequential_max']:>6}"
                f"{r['over_goal']:>11}"
            )
    taps = rt["tap"]["methods_per_update"]
    lines.append("  per tap: " + ", ".join(f"{k} {v:.2f}" for k, v in taps.items()))
    lines.append(
        f"  by start and end times alone: max {rt['tap']['by_time_max']}, "
        f"taps over 1: {rt['tap']['by_time_over_goal']} (a call beside a slow database read looks sequential)"
    )
    tap_ms = rt["tap_ms"]
    lines.append(
        f"  time from tap to next step: median {tap_ms['median_ms']:.1f} ms, p95 {tap_ms['p95_ms']:.1f} ms"
    )
    mem = report["memory"]
    lines += [
        "",
        "memory",
        f"  peak RSS during the {report['conversations']:,} checks (SQLite){'':<2}"
        f"{report['sqlite']['peak_rss_mb']:>8.1f} MB",
        f"  RSS with {mem['stored_small']:>7,} stored open checks{'':<9}{mem['rss_small_mb']:>8.1f} MB",
        f"  RSS with {mem['stored_large']:>7,} stored open checks{'':<9}{mem['rss_large_mb']:>8.1f} MB",
        f"  growth{'':<37}{mem['growth_mb']:>+8.1f} MB",
    ]
    if report["start_up"]:
        su = report["start_up"]
        lines += [
            "",
            "start-up (process start to ready, median)",
            f"  terminal check (welcome shown){'':<13}{su['console_s']:>8.2f} s",
            f"  Telegram mode (setMyCommands sent){'':<9}{su['telegram_s']:>8.2f} s",
        ]
    if fl := report["flood"]:
        lines += [
            "",
            f"one chat floods {fl['messages']} messages ({'PTB pacing' if fl['paced'] else 'unpaced'}, "
            "4 ms per call), then another sends /emergency",
            f"  /emergency answered after{'':<19}{fl['answered_s']:>8.3f} s",
            f"  the flood worked through after{'':<14}{fl['drained_s']:>8.1f} s",
        ]
    reached = report["sqlite"]["reached"]
    lines += ["", "outcomes reached (SQLite): " + ", ".join(f"{k} {v:,}" for k, v in sorted(reached.items()))]
    for s in stores:
        if report[s]["failure_count"]:
            lines.append(f"  {s}: {report[s]['failure_count']} checks did not end as scripted")
    if report.get("web"):
        lines += web.table(report["web"])
    lines += ["", "goals"]
    for g in report["goals"]:
        lines.append(f"  [{'met' if g['met'] else 'MISSED':>6}] {g['goal']}: {g['figure']}")
    return "\n".join(lines)
