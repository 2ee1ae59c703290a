"""Guards and ordering of failure: only the update types the bot handles, only private chats,
and whatever fails inside a handler, the practitioner still gets 999 and their designated contact.
(Per-chat order and fair processing slots are the update processor's job: ``ordering.py``.)"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.constants import ChatType, UpdateType
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.metrics import METRICS
from bot.service import CheckService, Duplicate, StoreUnavailable
from bot.telegram.sending import Sender

log = logging.getLogger(__name__)
Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]

# The only update types the bot subscribes to (getUpdates / setWebhook ``allowed_updates``) and
# handles; anything else that arrives (business messages, reactions, polls…) is ignored unanswered.
# Channel posts are handled only to leave the channel.
ALLOWED_UPDATES: list[str] = [
    UpdateType.MESSAGE,
    UpdateType.EDITED_MESSAGE,
    UpdateType.CALLBACK_QUERY,
    UpdateType.CHANNEL_POST,
    UpdateType.EDITED_CHANNEL_POST,
]


def update_kind(update: Update) -> str:
    """What kind of update this is, as a code for the logs: button, command, typed or other."""
    if update.callback_query is not None:
        return "button"
    msg = update.effective_message
    if msg is not None:
        return "command" if (msg.text or "").startswith("/") else "typed"
    return "other"


class Guards:
    """Runs before and around every handler of one bot."""

    def __init__(self, service: CheckService, out: Sender) -> None:
        self.service = service
        self.out = out

    async def guard(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        """Handled update types only, and private chats only: anywhere else, say so once and leave.

        A business message looks like a private chat, but it is a chat between the business
        account and someone else: the bot must neither delete nor answer there.
        """
        if not any(getattr(update, kind, None) is not None for kind in ALLOWED_UPDATES):
            log.info("update of an unhandled type ignored: update_id=%s", update.update_id)
            raise ApplicationHandlerStop
        chat = update.effective_chat
        if chat is None or chat.type == ChatType.PRIVATE:
            return
        log.info("left a non-private chat: type=%s update_id=%s", chat.type, update.update_id)
        with contextlib.suppress(TelegramError):  # a channel may not let us post; leaving matters
            await ctx.bot.send_message(chat.id, self.service.flow.content.texts.private_only)
        try:
            await ctx.bot.leave_chat(chat.id)
        except TelegramError as err:
            log.warning("could not leave chat: %s", type(err).__name__)
        raise ApplicationHandlerStop

    def net(self, handler: Handler) -> Handler:
        """``handler`` inside the safety net, run once per update: whatever fails inside it, the
        practitioner still gets 999 and their designated contact instead of silence."""

        @functools.wraps(handler)
        async def guarded(update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
            started = time.perf_counter()
            kind = update_kind(update)
            METRICS.updates.labels(kind).inc()
            try:
                await handler(update, ctx)
            except Duplicate:
                log.info("duplicate update ignored: update_id=%s", update.update_id)
                if update.callback_query is not None:  # a redelivered press still stops the spinner
                    await self.out.answer(update.callback_query)
                return
            except Exception as err:  # noqa: BLE001 - any bug still leaves the practitioner 999
                await self._failed(update, ctx, err)
                return
            METRICS.database_unavailable.set(0)
            seconds = time.perf_counter() - started
            METRICS.latency.labels(kind).observe(seconds)
            if log.isEnabledFor(logging.DEBUG):
                extra = {"update_kind": kind, "latency_ms": round(seconds * 1000, 1)}
                log.debug("update handled: update_id=%s", update.update_id, extra=extra)

        return guarded

    async def _failed(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE, err: Exception) -> None:
        """The safety net for a failed handler; if even that cannot reach Telegram, say so in the
        log. The store down is the service's concern (:meth:`CheckService.failure`): the net then
        does not ask it about the check."""
        if isinstance(err, StoreUnavailable):
            METRICS.database_unavailable.set(1)
            log.error("store unavailable: update_id=%s", update.update_id)
        else:
            log.error("handler failed: %s update_id=%s", type(err).__name__, update.update_id)
        chat, query = update.effective_chat, update.callback_query
        if chat is None:
            return
        try:
            await asyncio.gather(
                self.out.safety_net(ctx, chat.id, err),
                self.out.answer(query) if query else asyncio.sleep(0),
            )
        except TelegramError as error:
            log.error("safety net not delivered: %s", type(error).__name__)

    async def on_error(self, update: object, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the exception type and update id only, then make sure the practitioner has 999."""
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("unhandled %s for update_id=%s", type(ctx.error).__name__, update_id)
        if (
            isinstance(update, Update)
            and update.effective_chat
            and update.effective_chat.type == ChatType.PRIVATE
        ):
            try:
                await self.out.safety_net(ctx, update.effective_chat.id, ctx.error)
            except TelegramError as err:
                log.error("could not send safety net: %s", type(err).__name__)
