"""Sending screens to Telegram: signed buttons, messages split to fit, a step edited in place
(sent anew if its message is gone), button presses answered, and the safety net that still gets
999 and the designated contact to the practitioner when anything else fails."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ContextTypes

from bot.metrics import METRICS
from bot.render import to_html_parts
from bot.service import LAST_RESORT, CheckService, Reply, Token, chat_key
from bot.telegram import callbacks
from bot.telegram.delivery import EDIT_GONE, with_retry
from flows.screens import Screen

log = logging.getLogger(__name__)
CLEAR_LIMIT = 300  # messages "Clear this chat" will try to delete, at most

class Sender:
    """Turns screens into Telegram messages for one bot (its button-signing secret)."""

    def __init__(self, service: CheckService, secret: bytes) -> None:
        self.service = service
        self.secret = secret

    def markup(
        self, screen: Screen, key: str, token: Token | None, anchor: int | None
    ) -> InlineKeyboardMarkup | None:
        rows: list[list[InlineKeyboardButton]] = []
        for row in screen.buttons:
            out: list[InlineKeyboardButton] = []
            for b in row:
                action = b.action
                if action == "clear":
                    if anchor is None:
                        continue
                    action = f"x:{anchor}"
                data = callbacks.encode(
                    self.secret, key, action, token.check_id if token else None, token.version if token else 0
                )
                out.append(InlineKeyboardButton(b.label, callback_data=data))
            if out:
                rows.append(out)
        return InlineKeyboardMarkup(rows) if rows else None

    async def send(
        self,
        ctx: ContextTypes.DEFAULT_TYPE,
        chat_id: int,
        screen: Screen,
        key: str,
        token: Token | None = None,
        anchor: int | None = None,
        *,
        repeatable: bool = True,
    ) -> Message:
        """Send a screen as one or more messages; the buttons go on the last one.

        Each message is retried on its own (see :func:`with_retry`), so a retry never repeats a
        part that already arrived. ``repeatable=False`` for outcomes.
        """
        parts = to_html_parts(screen)
        for part in parts[:-1]:
            await with_retry(
                functools.partial(ctx.bot.send_message, chat_id, part, parse_mode=ParseMode.HTML),
                repeatable=repeatable,
            )
        markup = self.markup(screen, key, token, anchor)
        return await with_retry(
            lambda: ctx.bot.send_message(chat_id, parts[-1], parse_mode=ParseMode.HTML, reply_markup=markup),
            repeatable=repeatable,
        )

    async def edit(
        self,
        ctx: ContextTypes.DEFAULT_TYPE,
        query: CallbackQuery,
        chat_id: int,
        screen: Screen,
        key: str,
        token: Token | None,
    ) -> None:
        """Show a step in place of the pressed message; if that message is gone, as a new one."""
        parts = to_html_parts(screen)
        markup = self.markup(screen, key, token, None)
        try:
            await with_retry(
                lambda: query.edit_message_text(parts[0], parse_mode=ParseMode.HTML, reply_markup=markup)
            )
        except BadRequest as err:
            reason = str(err).lower()
            if "not modified" in reason:
                return
            if not any(gone in reason for gone in EDIT_GONE):
                raise
            log.info("step message gone; sending the step anew")
            await self.send(ctx, chat_id, screen, key, token)

    @staticmethod
    async def answer(query: CallbackQuery, text: str | None = None) -> None:
        """Answer a button press; best effort (the step itself matters more than the spinner)."""
        try:
            await with_retry(lambda: query.answer(text))
        except TelegramError as err:  # e.g. "query is too old" after a restart with a backlog
            log.info("callback query not answered: %s", type(err).__name__)

    async def show(
        self,
        ctx: ContextTypes.DEFAULT_TYPE,
        query: CallbackQuery,
        key: str,
        reply: Reply,
        *,
        note: str | None = None,
    ) -> None:
        """A reply to a button press, by its kind, with the query answered at the same time (with
        ``note``, or "this check has ended"): a step in place of the pressed message, the outcome
        and anything else as a new message."""
        assert query.message is not None
        chat_id = query.message.chat.id
        if reply.kind == "ended":
            note = self.service.flow.content.texts.stale
        shown: Awaitable[object]
        if reply.kind == "clear" and reply.anchor is not None:
            shown = self.clear(ctx, query, key, reply)
        elif not reply.changed and reply.token is None:
            shown = asyncio.sleep(0)
        elif reply.kind == "outcome":
            # The outcome stays in the chat as a new message, sent once (never retried when it may
            # have arrived); the step message loses its buttons.
            shown = asyncio.gather(
                self.send(ctx, chat_id, reply.screen, key, reply.token, reply.anchor, repeatable=False),
                self.drop_buttons(query),
            )
            if reply.screen.level is not None:
                METRICS.finished.labels(reply.screen.level).inc()
                finished = {"update_kind": "button", "level_reached": reply.screen.level}
                log.info("check finished", extra=finished)
        elif reply.edit:
            # A step (unchanged too: a double tap, or a button from an older screen of this check,
            # redrawn as the current step, so a screen left behind by a failed edit heals on the
            # next tap instead of leaving buttons that do nothing).
            shown = self.edit(ctx, query, chat_id, reply.screen, key, reply.token)
        else:
            shown = self.send(ctx, chat_id, reply.screen, key, reply.token)
        await asyncio.gather(self.answer(query, note), shown)

    async def clear(
        self, ctx: ContextTypes.DEFAULT_TYPE, query: CallbackQuery, key: str, reply: Reply
    ) -> None:
        """"Clear this chat": delete the check's messages, both sides, from ``reply.anchor`` on, as
        far as Telegram still allows; then the check still open, if there is one (``reply``)."""
        assert query.message is not None and reply.anchor is not None
        chat_id, last = query.message.chat.id, query.message.message_id
        ids = list(range(max(reply.anchor, last - CLEAR_LIMIT), last + 1))
        for start in range(0, len(ids), 100):
            batch = ids[start : start + 100]
            try:
                await with_retry(functools.partial(ctx.bot.delete_messages, chat_id, batch))
            except (BadRequest, Forbidden) as err:
                log.info("clear: some messages could not be deleted: %s", type(err).__name__)
        if reply.token is not None:
            await self.send(ctx, chat_id, reply.screen, key, reply.token)

    async def safety_net(
        self, ctx: ContextTypes.DEFAULT_TYPE, chat_id: int, error: BaseException | None = None
    ) -> None:
        """Whatever failed, the practitioner still gets 999 and their designated contact
        (:meth:`CheckService.failure`); with a check open, "Back to the check" too, so nothing
        answered has to be started again (issue 21 §8)."""
        try:
            key = chat_key(self.secret, ctx.bot.id, chat_id)
            reply = await self.service.failure(key=key, error=error)
            if len(reply.screen.buttons) > 0 and reply.screen.buttons[0][0].action == "resume":
                await self.send(ctx, chat_id, reply.screen, key)
                return
            html = to_html_parts(reply.screen)[0]
            await with_retry(lambda: ctx.bot.send_message(chat_id, html, parse_mode=ParseMode.HTML))
        except Exception as err:  # noqa: BLE001 - the last resort must not depend on anything above
            log.error("safety net screen failed: %s", type(err).__name__)
            await with_retry(lambda: ctx.bot.send_message(chat_id, LAST_RESORT))

    @staticmethod
    async def drop_buttons(query: CallbackQuery) -> None:
        """Best effort: a button left behind on an old step says "ended" when pressed."""
        try:
            await with_retry(lambda: query.edit_message_reply_markup(None))
        except TelegramError as err:  # already gone, unchanged, or the network: nothing to do
            log.info("old step kept its buttons: %s", type(err).__name__)
