"""The benchmark works: a smoke-size run of every part of ``make bench``, timing nothing.

One run of ``python -m bench`` at smoke size: a few complete checks through the real Application
on SQLite and the floor on the same updates, the round-trip count, both memory probes (small) and
one start of each mode. Checks that the report (printed, and written as JSON) holds every figure
and that every check reached the outcome its script aims at. Nothing here asserts a time.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.double import (
    CURRENT,
    BenchTelegram,
    TimedRequest,
    UpdateLog,
    sequential_by_time,
    sequential_round_trips,
    stamp_tasks,
)
from bench.load import bot_settings, lift_rate_limit, same_traffic_application
from bench.report import table
from bench.run import main
from bot import wiring
from bot.telegram.app import build_application

pytestmark = pytest.mark.slow
CHECKS = 8  # two of each level; a third open a lookup mid-check, a third the emergency button
FIGURES = {"updates_per_s", "median_ms", "p95_ms", "p99_ms", "cpu_ms_per_update"}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, dict[str, Any]]]:
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("DATABASE_URL", raising=False)  # SQLite only: no server needed
        args = ["-n", str(CHECKS), "--stored", "20,200", "--startup-runs", "1", "--rtt-ms", "5", "--no-web"]
        args += ["--flood", "50", "--flood-unpaced"]
        code = main([*args, "--json", str(out)])
    yield code, json.loads(out.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def report(run: tuple[int, dict[str, Any]]) -> dict[str, Any]:
    return run[1]


def test_the_run_succeeds_and_every_check_reaches_its_outcome(run: tuple[int, dict[str, Any]]) -> None:
    code, report = run
    sqlite = report["sqlite"]
    assert sqlite["failure_count"] == 0, sqlite["failures"]
    assert sqlite["reached"] == {"emergency": 2, "urgent": 2, "concern": 2, "no_current_indicators": 2}
    assert report["round_trips"]["failure_count"] == 0
    assert report["memory"]["probe_failures"] == []
    assert code == 0


def test_the_floor_is_fed_the_same_updates(report: dict[str, Any]) -> None:
    sqlite = report["sqlite"]
    assert sqlite["floor"]["updates"] == sqlite["ours"]["updates"] >= CHECKS * 10
    assert sqlite["same_floor"]["updates"] == sqlite["ours"]["updates"]


def test_the_same_traffic_floor_makes_exactly_the_bots_calls(report: dict[str, Any]) -> None:
    calls = report["sqlite"]["calls"]
    assert calls["same_floor"] == calls["ours"]
    assert calls["ours"]["answerCallbackQuery"] > 0 and calls["ours"]["editMessageText"] > 0


def test_the_report_has_every_figure(report: dict[str, Any]) -> None:
    sqlite = report["sqlite"]
    for side in ("ours", "floor"):
        assert set(sqlite[side]) >= FIGURES
        assert all(math.isfinite(sqlite[side][k]) and sqlite[side][k] > 0 for k in FIGURES)
    assert set(sqlite["ratio"]) >= FIGURES
    assert sqlite["peak_rss_mb"] > 0
    taps = report["round_trips"]["tap"]
    assert taps["count"] > 0 and taps["calls_mean"] >= 1 and taps["sequential_max"] >= 1
    assert "answerCallbackQuery" in taps["methods_per_update"]
    memory = report["memory"]
    assert memory["rss_small_mb"] > 0 and memory["rss_large_mb"] > 0 and math.isfinite(memory["growth_mb"])
    assert report["start_up"]["console_s"] > 0 and report["start_up"]["telegram_s"] > 0
    assert {"python", "ptb", "cpus", "cpu", "ram_gb"} <= set(report["machine"])
    flood = report["flood"]
    assert flood["messages"] == 50 and flood["paced"] is False and flood["slots_held"] <= 2
    assert flood["answered_s"] > 0 and flood["drained_s"] >= flood["answered_s"]
    assert len(report["goals"]) == 4 and all(isinstance(g["met"], bool) for g in report["goals"])


def test_the_table_shows_every_figure(report: dict[str, Any]) -> None:
    text = table(report)
    for label in (
        "updates/s",
        "time, median",
        "time, p95",
        "time, p99",
        "CPU per update",
        "per tap",
        "in sequence",
        "peak RSS",
        "stored open checks",
        "growth",
        "terminal check",
        "Telegram mode",
        "/emergency answered after",
        "the flood worked through",
        "goals",
    ):
        assert label in text, label


async def test_round_trips_count_calls_awaited_one_after_another_not_calls_made_beside() -> None:
    stamp_tasks(asyncio.get_running_loop())
    request = TimedRequest(BenchTelegram(), rtt=0.001)

    async def call(method: str) -> None:
        await request.do_request(f"http://127.0.0.1:9/botTOKEN/{method}", "POST")

    answered = asyncio.Event()

    async def answer() -> None:
        await call("answerCallbackQuery")
        answered.set()

    async def slow_then_send() -> None:
        await answered.wait()  # a database read that ends after the answer's round trip
        await asyncio.gather(call("setMyCommands"), asyncio.sleep(0))

    beside = UpdateLog("tap")
    token = CURRENT.set(beside)
    await asyncio.gather(answer(), slow_then_send())
    CURRENT.reset(token)
    assert sequential_by_time(beside.calls) == 2
    assert sequential_round_trips(beside.calls) == 1

    after = UpdateLog("tap")
    token = CURRENT.set(after)
    await call("answerCallbackQuery")
    await asyncio.gather(call("setMyCommands"), call("deleteWebhook"))
    CURRENT.reset(token)
    assert sequential_round_trips(after.calls) == 2


def test_the_same_traffic_floor_has_the_bots_application_settings(tmp_path: Path) -> None:
    """The floor the cost goal is judged against runs with the bot's Defaults, concurrency and
    rate limiter (lifted on both sides), so what remains between them is the bot's own work."""
    settings = bot_settings(f"sqlite:///{tmp_path / 'b.sqlite3'}")
    ours = build_application(
        settings, wiring.service(settings), request=TimedRequest(BenchTelegram())
    )
    lift_rate_limit(ours)
    floor = same_traffic_application(BenchTelegram(), {})

    def limits(app: Any) -> tuple[type, float] | None:
        limiter = app.bot.rate_limiter
        return None if limiter is None else (type(limiter), limiter._base_limiter.max_rate)

    assert limits(floor) == limits(ours) is not None
    assert floor.bot.defaults == ours.bot.defaults
    assert floor.update_processor.max_concurrent_updates == ours.update_processor.max_concurrent_updates


def test_the_web_walk_reaches_the_outcome_one_exchange_per_screen(tmp_path: Path) -> None:
    """bench/web.py at full link speed: every screen of a typical concern is reached by one POST
    and its redirect, the figures are all there (none of them judged: timings are the bench's)."""
    from bench import web
    from testkit.web_harness import chromium

    browser = chromium()
    if browser is None:
        pytest.skip("no Chromium: run scripts/ensure-chromium.sh (apt-get)")
    report = web.measure(tmp_path, browser, throttle=False)
    names = [s["name"] for s in report["screens"]]
    assert names[0].startswith("welcome") and names[1] == "danger" and names[-1] == "outcome"
    assert [s["posts"] for s in report["screens"][1:]] == [1] * (len(names) - 1)
    assert report["max_requests_per_screen"] == 2  # the POST and the page it redirects to
    assert report["taps"] == len(names) - 1 + 1  # a tap per screen, and the one tick
    assert report["first_page_kb"] > 0 and report["outcome_number_px"] > 0
    lines = web.table(report)
    assert any("whole check" in line for line in lines)
    assert len(report["goals"]) == 5
