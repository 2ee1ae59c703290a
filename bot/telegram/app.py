"""Composition root for Telegram mode: build the PTB Application, then poll or serve a webhook.

Settings decide everything: the Bot API server (``TELEGRAM_API_BASE_URL``), polling or webhook,
and the store. Telegram refuses to start until every setting and the contacts file are fit for
real use, naming each problem in one line and never printing a secret.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Any

from telegram.constants import ParseMode
from telegram.ext import AIORateLimiter, Application, Defaults
from telegram.request import BaseRequest, HTTPXRequest

from bot.config import Settings
from bot.metrics import METRICS, MeteredRequest
from bot.runtime import Runtime
from bot.service import CheckService
from bot.telegram.guards import ALLOWED_UPDATES
from bot.telegram.handlers import TelegramFrontEnd
from bot.telegram.ordering import ChatOrderedUpdateProcessor
from flows.contacts.deployment import contact_warnings, oldest_check

log = logging.getLogger(__name__)

AnyApp = Application[Any, Any, Any, Any, Any, Any]


def quiet_libraries() -> None:
    """Keep the token and update contents out of the logs whatever LOG_LEVEL says.

    httpx logs request URLs at INFO, and the URL holds the bot token; PTB logs whole updates at
    DEBUG. Both are held at WARNING.
    """
    for name in ("httpx", "httpcore", "telegram", "telegram.ext", "tornado.access", "apscheduler"):
        logging.getLogger(name).setLevel(logging.WARNING)


def build_application(
    settings: Settings,
    service: CheckService,
    *,
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
    concurrency: int = 32,
    runtime: Runtime | None = None,
) -> AnyApp:
    """The PTB Application with every handler registered; ``request`` lets tests use a double.
    ``runtime`` (bot/runtime.py) starts with the Application and stops after it; by default one
    for this service and settings."""
    assert settings.telegram_bot_token is not None
    quiet_libraries()
    root = settings.telegram_api_base_url
    front = TelegramFrontEnd(
        service,
        secret=settings.chat_key_bytes(),
        admin_ids=frozenset(settings.admin_user_ids),
    )
    lifecycle = runtime or Runtime(settings, service, kind="telegram")

    async def post_init(app: AnyApp) -> None:
        await front.set_commands(app)
        await lifecycle.start()

    async def post_shutdown(_: AnyApp) -> None:
        await lifecycle.stop()

    builder = (
        Application.builder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .defaults(Defaults(parse_mode=ParseMode.HTML, protect_content=True))
        .rate_limiter(AIORateLimiter(max_retries=3))
        .concurrent_updates(ChatOrderedUpdateProcessor(concurrency))
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    # Every Bot API call is counted by method for /metrics (bot/metrics.py), whatever carries it:
    # HTTPX in production (PTB's default pool sizes), a double in tests.
    calls = request or HTTPXRequest(connection_pool_size=256)
    updates = updates_request or request or HTTPXRequest()
    builder = builder.request(MeteredRequest(calls, METRICS)).get_updates_request(
        MeteredRequest(updates, METRICS)
    )
    app: AnyApp = builder.build()
    front.register(app)
    return app


def run_telegram(
    settings: Settings,
    start: Callable[[], Runtime],
    *,
    beside: Callable[[CheckService], Callable[[asyncio.Event], Awaitable[None]]] | None = None,
) -> int:
    """Start Telegram mode (blocking) in polling or webhook mode, around the runtime ``start``
    builds (the service, the sweep, the contacts reload, metrics). ``beside`` makes another server
    over the same service to run with the webhook (the web page, WEB_ENABLED=true)."""
    quiet_libraries()
    runtime = start()
    service = runtime.service
    overdue = service.review_warning()
    if overdue:
        log.warning("%s", overdue)
    # When the contacts were last checked (roles and dates only): the oldest line, and any due.
    oldest = oldest_check(service.directory)
    if oldest is not None:
        log.info("contacts: the oldest check is %s", oldest)
    for line in contact_warnings(service.directory, service.clock().date()):
        log.warning("contacts due a check: %s", line)
    app = build_application(settings, service, runtime=runtime)
    runtime.serve_metrics()  # polling only: webhook mode serves /metrics beside the updates
    if settings.bot_mode == "polling":
        log.info("starting in polling mode")
        app.run_polling(allowed_updates=ALLOWED_UPDATES)
        return 0
    from bot.telegram.webhook import serve_webhook

    companion = beside(service) if beside is not None else None
    asyncio.run(serve_webhook(app, settings, stop_signals=(signal.SIGINT, signal.SIGTERM), beside=companion))
    return 0
