"""Prometheus metrics: how the service is doing, counted without anything that identifies a chat.

Served as ``/metrics`` by the webhook server, and in polling mode and by ``cse-triage web`` on
``METRICS_PORT`` (127.0.0.1 unless ``METRICS_LISTEN`` says otherwise) when that is set. Labels
are codes from a fixed set: update kinds, Bot API method names, outcome levels, web steps and
refusal reasons. Never a chat id, user id, key or text.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST, start_http_server
from prometheus_client.process_collector import ProcessCollector
from telegram.request import BaseRequest, RequestData

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    """One registry per bot process (tests build their own, so figures never leak between them)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)  # process_start_time_seconds, memory, CPU
        r = self.registry
        self.updates = Counter("cse_updates_total", "Updates handled, by kind", ["kind"], registry=r)
        self.latency = Histogram(
            "cse_update_seconds",
            "Time to handle an update",
            ["kind"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.api_calls = Counter(
            "cse_bot_api_calls_total", "Bot API calls, by method", ["method"], registry=r
        )
        self.api_failures = Counter(
            "cse_bot_api_failures_total", "Bot API calls that failed, by method", ["method"], registry=r
        )
        self.retries = Counter("cse_bot_api_retries_total", "Bot API calls tried again", registry=r)
        self.database_unavailable = Gauge(
            "cse_database_unavailable", "1 while the last store call failed as unavailable", registry=r
        )
        self.finished = Counter(
            "cse_checks_finished_total", "Checks finished, by level", ["level"], registry=r
        )
        # The web page (bot/web): labels are the content's step ids and level codes, and the
        # page's own short refusal reasons; never a path, a form value or a session.
        self.web_pages = Counter(
            "cse_web_pages_total", "Web pages shown, by step (or lookup, outcome)", ["step"], registry=r
        )
        self.web_finished = Counter(
            "cse_web_checks_finished_total", "Web checks finished, by level", ["level"], registry=r
        )
        self.web_refused = Counter(
            "cse_web_refused_total",
            "Web requests refused (400, 404) or forms sent back, by reason",
            ["reason"],
            registry=r,
        )

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def serve(self, port: int, address: str = "127.0.0.1") -> None:
        """The metrics on their own small HTTP server (polling mode), in a daemon thread."""
        start_http_server(port, addr=address, registry=self.registry)


class MeteredRequest(BaseRequest):
    """A PTB request object that counts every Bot API call and failure by method, then hands the
    call to the real one (HTTPX in production, a double in tests)."""

    def __init__(self, inner: BaseRequest, metrics: Metrics) -> None:
        self.inner = inner
        self.metrics = metrics

    @property
    def read_timeout(self) -> float | None:
        return self.inner.read_timeout

    async def initialize(self) -> None:
        await self.inner.initialize()

    async def shutdown(self) -> None:
        await self.inner.shutdown()

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        name = name if name.isalnum() and len(name) <= 40 else "other"
        self.metrics.api_calls.labels(name).inc()
        try:
            status, body = await self.inner.do_request(url, method, request_data, *args, **kwargs)
        except Exception:
            self.metrics.api_failures.labels(name).inc()
            raise
        if status >= 400:
            self.metrics.api_failures.labels(name).inc()
        return status, body


# One bot per process: the process's metrics. Tests read differences, never absolute values.
METRICS = Metrics()
