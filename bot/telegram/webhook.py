"""Webhook mode: a small tornado server that checks Telegram's secret header in constant time.

PTB's own webhook handler compares the secret with ``!=``; this one uses
``hmac.compare_digest``. A wrong or missing secret gets 403 and nothing is processed; bodies over
a limit and malformed JSON are refused; ``/healthz`` answers for load balancers. The update is
queued to the Application, which processes it like a polled one.

Slow clients cannot take it down: a connection that does not send its headers (or sits idle)
within ``WEBHOOK_IDLE_TIMEOUT``, or its body within ``WEBHOOK_BODY_TIMEOUT``, is closed; the
open-files soft limit is raised to the hard limit at start-up; and connections are held to what
the descriptors allow (bot/connections.py, shared with the web page in the same process): when
they run short the oldest idle connections are closed so accepting goes on, said in the log once
a minute at most. Only if none can be closed does accepting pause briefly instead of spinning.
"""

from __future__ import annotations

import asyncio
import errno
import hmac
import json
import logging
import signal
import socket
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlparse

import tornado.httpserver
import tornado.web
from telegram import Update
from telegram.ext import Application
from tornado.ioloop import IOLoop

from bot.config import Settings
from bot.connections import CONNECTIONS, EveryFewSeconds, raise_open_files_limit
from bot.metrics import CONTENT_TYPE, METRICS
from bot.telegram.guards import ALLOWED_UPDATES

log = logging.getLogger(__name__)
MAX_BODY = 256 * 1024  # Telegram updates are small; anything this big is not from Telegram
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret
# accept() failing for lack of resources: pause accepting for ACCEPT_PAUSE seconds, log at most
# once per ACCEPT_LOG_EVERY seconds (with how many were not logged).
_OUT_OF_RESOURCES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
ACCEPT_PAUSE = 0.2
ACCEPT_LOG_EVERY = 60.0

AnyApp = Application[Any, Any, Any, Any, Any, Any]


class UpdateHandler(tornado.web.RequestHandler):
    """POST <path>: one update from Telegram."""

    def initialize(self, app: AnyApp, secret: bytes) -> None:
        self.app = app
        self.secret = secret

    def check_xsrf_cookie(self) -> None:  # Telegram sends no cookies; the secret header is the check
        return None

    async def post(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self.secret):
            self.set_status(403)
            return
        try:
            data = json.loads(self.request.body)
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("not an update")
            update = Update.de_json(data, self.app.bot)
        except Exception as err:  # noqa: BLE001 - any body that is not an update is refused, never a 500
            # PTB and json raise ValueError, TypeError, KeyError, AttributeError on junk; RecursionError
            # on deep nesting; OverflowError on a date no clock can hold. A 500 would be retried.
            log.warning("webhook: malformed update refused (%s)", type(err).__name__)
            self.set_status(400)
            return
        if update is None:
            self.set_status(400)
            return
        await self.app.update_queue.put(update)
        self.set_status(200)


class HealthHandler(tornado.web.RequestHandler):
    """GET /healthz: the process is up and the Application is running."""

    def initialize(self, app: AnyApp) -> None:
        self.app = app

    def get(self) -> None:
        self.set_status(200 if self.app.running else 503)
        self.write("ok" if self.app.running else "starting")


def _accept_with_pause(
    sock: socket.socket, callback: Callable[[socket.socket, Any], None], report: EveryFewSeconds
) -> Callable[[], None]:
    """tornado.netutil.add_accept_handler, except that running out of file descriptors pauses
    accepting (the listening socket stays readable, so tornado's loop would spin at full CPU and
    log a traceback each turn) until some are freed, e.g. by the idle and body timeouts."""
    io_loop = IOLoop.current()
    state = {"removed": False, "paused": False}

    def resume() -> None:
        state["paused"] = False
        if not state["removed"]:
            io_loop.add_handler(sock, accept, IOLoop.READ)

    def accept(_fd: Any, _events: int) -> None:
        for _ in range(128):
            if state["removed"] or state["paused"]:
                return
            try:
                connection, address = sock.accept()
            except BlockingIOError:
                return
            except ConnectionAbortedError:
                continue
            except OSError as err:
                if err.errno not in _OUT_OF_RESOURCES:
                    raise
                if CONNECTIONS.shed("out of descriptors"):
                    continue  # the oldest idle ones went: accept this one
                report(
                    "webhook: cannot accept connections (%s): too many open; pausing %.1f s",
                    errno.errorcode.get(err.errno or 0, "?"),
                    ACCEPT_PAUSE,
                )
                state["paused"] = True
                io_loop.remove_handler(sock)
                io_loop.call_later(ACCEPT_PAUSE, resume)
                return
            callback(connection, address)

    def remove() -> None:
        state["removed"] = True
        if not state["paused"]:
            io_loop.remove_handler(sock)

    io_loop.add_handler(sock, accept, IOLoop.READ)
    return remove


class WebhookServer(tornado.httpserver.HTTPServer):
    """tornado's HTTPServer with the accept loop above."""

    def add_sockets(self, sockets: Any) -> None:
        report = EveryFewSeconds(ACCEPT_LOG_EVERY, log)
        for sock in sockets:
            # The same bookkeeping as TCPServer.add_sockets, so that stop() works unchanged.
            self._sockets[sock.fileno()] = sock
            self._handlers[sock.fileno()] = _accept_with_pause(sock, self._handle_connection, report)

    def handle_stream(self, stream: Any, address: Any) -> None:
        super().handle_stream(stream, address)
        # A Telegram request takes milliseconds: an open connection is as good as idle.
        CONNECTIONS.add(idle=lambda: True, closed=stream.closed, close=stream.close)


def make_server(
    app: AnyApp, *, path: str, secret: bytes, idle_timeout: float, body_timeout: float
) -> WebhookServer:
    """The webhook HTTP server, with the body limit and both timeouts."""
    return WebhookServer(
        make_web_app(app, path=path, secret=secret),
        max_body_size=MAX_BODY,
        xheaders=True,
        idle_connection_timeout=idle_timeout,
        body_timeout=body_timeout,
    )


class MetricsHandler(tornado.web.RequestHandler):
    """GET /metrics: Prometheus figures (counts, latencies, failures; nothing that names a chat).
    Behind the reverse proxy only /telegram and /healthz are public (deploy/nginx.conf)."""

    def get(self) -> None:
        self.set_header("Content-Type", CONTENT_TYPE)
        self.write(METRICS.exposition())


def make_web_app(app: AnyApp, *, path: str, secret: bytes) -> tornado.web.Application:
    """The tornado application: the update path, the health endpoint and the metrics."""
    return tornado.web.Application(
        [
            (path, UpdateHandler, {"app": app, "secret": secret}),
            (r"/healthz", HealthHandler, {"app": app}),
            (r"/metrics", MetricsHandler),
        ]
    )


async def serve_webhook(
    app: AnyApp,
    settings: Settings,
    *,
    stop_signals: tuple[signal.Signals, ...] = (),
    beside: Callable[[asyncio.Event], Awaitable[None]] | None = None,
) -> None:
    """Run until a stop signal: start the Application, register the webhook, serve. ``beside``
    is another server to run in this process until the same stop (the web page, WEB_ENABLED)."""
    assert settings.webhook_url is not None and settings.webhook_secret is not None
    secret = settings.webhook_secret.get_secret_value()
    path = urlparse(settings.webhook_url).path or "/"
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in stop_signals:
        loop.add_signal_handler(sig, stop.set)
    before, after = raise_open_files_limit()
    log.info("open files limit: %d (was %d)", after, before)
    server = make_server(
        app,
        path=path,
        secret=secret.encode(),
        idle_timeout=settings.webhook_idle_timeout,
        body_timeout=settings.webhook_body_timeout,
    )
    async with app:
        if app.post_init is not None:
            await app.post_init(app)
        await app.start()
        server.listen(settings.webhook_port, address=settings.webhook_listen)
        await app.bot.set_webhook(settings.webhook_url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
        log.info("webhook mode: listening")
        companion = asyncio.ensure_future(beside(stop)) if beside is not None else None
        await stop.wait()
        server.stop()
        if companion is not None:
            try:
                await companion
            except Exception as err:  # noqa: BLE001 - the web page failing never stops Telegram's shutdown
                log.error("web page stopped with %s", type(err).__name__)
        await app.stop()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)
