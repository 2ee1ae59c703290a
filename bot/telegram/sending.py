"""Sending screens to Telegram: signed buttons, messages split to fit, a step edited in place
(sent anew if its message is gone), button presses answered, and the safety net that still gets
999 and the designated contact to the practitioner when anything else fails."""

from __future__ import annotations

import functools
import logging

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot.render import to_html_parts
from bot.service import LAST_RESORT, CheckService, Token, chat_key
from bot.telegram import callbacks
from bot.telegram.delivery import EDIT_GONE, with_retry
from flows.screens import Screen

log = logging.getLogger(__name__)

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
