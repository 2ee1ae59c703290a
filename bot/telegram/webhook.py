"""Webhook mode: a small tornado server that checks Telegram's secret header in constant time.

PTB's own webhook handler compares the secret with ``!=``; this one uses
``hmac.compare_digest``. A wrong or missing secret gets 403 and nothing is processed; bodies over
a limit and malformed JSON are refused; ``/healthz`` answers for load balancers. The update is
queued to the Application, which processes it like a polled one.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
from typing import Any
from urllib.parse import urlparse

import tornado.httpserver
import tornado.web
from telegram import Update
from telegram.ext import Application

from bot.config import Settings
from bot.telegram.handlers import ALLOWED_UPDATES

log = logging.getLogger(__name__)
MAX_BODY = 256 * 1024  # Telegram updates are small; anything this big is not from Telegram
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret

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


def make_web_app(app: AnyApp, *, path: str, secret: bytes) -> tornado.web.Application:
    """The tornado application: the update path and the health endpoint."""
    return tornado.web.Application(
        [
            (path, UpdateHandler, {"app": app, "secret": secret}),
            (r"/healthz", HealthHandler, {"app": app}),
        ]
    )


async def serve_webhook(
    app: AnyApp, settings: Settings, *, stop_signals: tuple[signal.Signals, ...] = ()
) -> None:
    """Run until a stop signal: start the Application, register the webhook, serve."""
    assert settings.webhook_url is not None and settings.webhook_secret is not None
    secret = settings.webhook_secret.get_secret_value()
    path = urlparse(settings.webhook_url).path or "/"
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in stop_signals:
        loop.add_signal_handler(sig, stop.set)
    server = tornado.httpserver.HTTPServer(
        make_web_app(app, path=path, secret=secret.encode()), max_body_size=MAX_BODY, xheaders=True
    )
    async with app:
        if app.post_init is not None:
            await app.post_init(app)
        await app.start()
        server.listen(settings.webhook_port, address=settings.webhook_listen)
        await app.bot.set_webhook(settings.webhook_url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
        log.info("webhook mode: listening")
        await stop.wait()
        server.stop()
        await app.stop()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)
