"""Prometheus metrics: after a check, the figures moved (updates by kind, Bot API calls by method,
checks finished by level, latency), and nothing in them names a chat."""

from __future__ import annotations

import asyncio
import socket

import httpx
import tornado.httpserver
from prometheus_client.parser import text_string_to_metric_families

from bot.metrics import METRICS
from bot.telegram.webhook import make_web_app
from testkit.telegram_harness import running_bot

CHAT = 7800001


def figures(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(all_: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return all_.get((name, tuple(sorted(labels.items()))), 0.0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_check_moves_the_figures_and_names_no_chat() -> None:
    before = figures(METRICS.exposition().decode())
    async with running_bot() as bot:
        await bot.walk_to_outcome(CHAT, ticks=("Controlling adult",))
        port = free_port()
        server = tornado.httpserver.HTTPServer(make_web_app(bot.app, path="/hook", secret=b"s"))
        server.listen(port, address="127.0.0.1")
        try:
            async with httpx.AsyncClient() as client:
                scraped = await client.get(f"http://127.0.0.1:{port}/metrics")
        finally:
            server.stop()
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    after = figures(scraped.text)
    assert (
        value(after, "cse_checks_finished_total", level="urgent")
        == value(before, "cse_checks_finished_total", level="urgent") + 1
    )
    assert value(after, "cse_updates_total", kind="button") > value(
        before, "cse_updates_total", kind="button"
    )
    assert value(after, "cse_updates_total", kind="command") > value(
        before, "cse_updates_total", kind="command"
    )
    for method in ("answerCallbackQuery", "editMessageText", "sendMessage"):
        assert value(after, "cse_bot_api_calls_total", method=method) > value(
            before, "cse_bot_api_calls_total", method=method
        ), method
    assert value(after, "cse_update_seconds_count", kind="button") > value(
        before, "cse_update_seconds_count", kind="button"
    )
    assert value(after, "cse_database_unavailable") == 0
    assert ("process_start_time_seconds", ()) in after
    assert str(CHAT) not in scraped.text


async def test_polling_mode_serves_metrics_on_their_own_port() -> None:
    port = free_port()
    METRICS.serve(port)
    async with httpx.AsyncClient() as client:
        for _ in range(100):  # the server thread is up once it answers
            try:
                got = await client.get(f"http://127.0.0.1:{port}/metrics")
                break
            except httpx.ConnectError:
                await asyncio.sleep(0.02)
    assert got.status_code == 200 and "cse_updates_total" in got.text
