"""Telegram handlers: turn updates into service actions, and screens into messages.

Thin on purpose: every rule lives in `flows/`, every piece of state in the store. What happens
here is Telegram's part: private chats only, signed buttons, one message edited in place per
step, the outcome as a new message, typed text deleted unread, and the emergency line whenever
anything fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ChatType, ParseMode, UpdateType
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.render import to_html_parts
from bot.service import CheckService, Reply, Token
from bot.stats import load_stats
from bot.telegram import callbacks
from bot.telegram.delivery import EDIT_GONE, with_retry
from bot.telegram.ordering import backlog
from flows.screens import LOOKUPS, Screen
from storage.base import Duplicate, StoreUnavailable, chat_key

log = logging.getLogger(__name__)

# Commands in the menu, in the order /help lists them (emergency first).
COMMANDS: list[tuple[str, str]] = [
    ("emergency", "999 and who to call now"),
    ("check", "Start a check, one tap at a time"),
    ("indicators", "Possible signs of CSE"),
    ("vulnerabilities", "What makes a child more vulnerable"),
    ("online", "Online exploitation"),
    ("whatis", "What CSE is, and what should happen"),
    ("contacts", "Who to contact, for the time now"),
    ("privacy", "What this bot keeps"),
    ("about", "Content version and sources"),
    ("help", "All commands"),
    ("cancel", "Stop the check in progress"),
    ("forget", "Delete everything kept for this chat"),
    ("start", "Welcome"),
]
# Last resort when even the screens cannot be built: verified numbers only.
LAST_RESORT = (
    "Something went wrong. If a child is in immediate danger, call 999 now. "
    "Then tell your designated person for child protection."
)
CLEAR_LIMIT = 300  # messages "Clear this chat" will try to delete, at most
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


class TelegramFrontEnd:
    """Handlers for one bot, over one :class:`CheckService`."""

    def __init__(
        self, service: CheckService, *, secret: bytes, admin_ids: frozenset[int] = frozenset()
    ) -> None:
        self.service = service
        self.secret = secret
        self.admin_ids = admin_ids
        # One update at a time per chat, in order, is the update processor's job
        # (bot/telegram/ordering.py): it takes the chat's turn before a processing slot.

    # -- registration ---------------------------------------------------------------------
    def register(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """All handlers, in order, guards first."""
        app.add_handler(TypeHandler(Update, self.guard), group=-1)
        private = filters.ChatType.PRIVATE & ~filters.FORWARDED & filters.UpdateType.MESSAGE
        names = [name for name, _ in COMMANDS]
        app.add_handler(CommandHandler(names, self.command, filters=private))
        app.add_handler(CommandHandler("stats", self.stats, filters=private))
        app.add_handler(CallbackQueryHandler(self.button))
        app.add_handler(MessageHandler(filters.ALL, self.typed))
        app.add_error_handler(self.on_error)

    @staticmethod
    async def set_commands(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """The commands menu for private chats (called at start-up)."""
        await app.bot.set_my_commands(
            [BotCommand(n, d) for n, d in COMMANDS], scope=BotCommandScopeAllPrivateChats()
        )

    # -- helpers ----------------------------------------------------------------------------
    def _key(self, update: Update, bot_id: int) -> str:
        chat = update.effective_chat
        assert chat is not None
        return chat_key(self.secret, bot_id, chat.id)

    def _markup(
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

    async def _send(
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
        markup = self._markup(screen, key, token, anchor)
        return await with_retry(
            lambda: ctx.bot.send_message(chat_id, parts[-1], parse_mode=ParseMode.HTML, reply_markup=markup),
            repeatable=repeatable,
        )

    async def _edit(
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
        markup = self._markup(screen, key, token, None)
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
            await self._send(ctx, chat_id, screen, key, token)

    @staticmethod
    async def _answer(query: CallbackQuery, text: str | None = None) -> None:
        """Answer a button press; best effort (the step itself matters more than the spinner)."""
        try:
            await with_retry(lambda: query.answer(text))
        except TelegramError as err:  # e.g. "query is too old" after a restart with a backlog
            log.info("callback query not answered: %s", type(err).__name__)

    async def _safety_net(
        self, ctx: ContextTypes.DEFAULT_TYPE, chat_id: int, text: str | None = None
    ) -> None:
        """Whatever failed, the practitioner still gets 999 and their designated contact."""
        try:
            screen = self.service.safety_net(text)
            html = to_html_parts(screen)[0]
            await with_retry(lambda: ctx.bot.send_message(chat_id, html, parse_mode=ParseMode.HTML))
        except Exception as err:  # noqa: BLE001 - the last resort must not depend on anything above
            log.error("safety net screen failed: %s", type(err).__name__)
            await with_retry(lambda: ctx.bot.send_message(chat_id, LAST_RESORT))

    async def _guarded(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE, work: Awaitable[None]) -> None:
        """Run a handler's work; on any failure send the safety net instead of going quiet."""
        chat = update.effective_chat
        try:
            await work
        except Duplicate:
            log.info("duplicate update ignored: update_id=%s", update.update_id)
            if update.callback_query is not None:  # a redelivered press still stops the spinner
                await self._answer(update.callback_query)
        except StoreUnavailable:
            log.error("store unavailable: update_id=%s", update.update_id)
            if chat is not None:
                await self._net(ctx, update, chat.id, self.service.flow.content.texts.unavailable)
        except Exception as err:  # noqa: BLE001 - any bug still leaves the practitioner 999
            log.error("handler failed: %s update_id=%s", type(err).__name__, update.update_id)
            if chat is not None:
                await self._net(ctx, update, chat.id)

    async def _net(
        self, ctx: ContextTypes.DEFAULT_TYPE, update: Update, chat_id: int, text: str | None = None
    ) -> None:
        """The safety net from a handler; if even that cannot reach Telegram, say so in the log."""
        query = update.callback_query
        try:
            await asyncio.gather(
                self._safety_net(ctx, chat_id, text), self._answer(query) if query else asyncio.sleep(0)
            )
        except TelegramError as err:
            log.error("safety net not delivered: %s", type(err).__name__)

    # -- handlers ---------------------------------------------------------------------------
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

    async def command(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        """Every command: the check, lookups, /cancel and /forget."""
        await self._guarded(update, ctx, self._command(update, ctx))

    async def _command(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        msg = update.effective_message
        assert msg is not None and msg.text is not None
        name = msg.text.split()[0].lstrip("/").split("@")[0].lower()
        args = ctx.args or []
        key = self._key(update, ctx.bot.id)
        svc = self.service
        chat_id = msg.chat_id
        if name == "start" and args[:1] == ["emergency"]:
            name = "emergency"
        elif name == "start" and args[:1] == ["check"]:
            name = "check"
        if name == "check":
            reply = await svc.start(key=key, update_id=update.update_id, anchor=msg.message_id)
            await self._send(ctx, chat_id, reply.screen, key, reply.token)
        elif name == "start":
            in_check = False
            with contextlib.suppress(StoreUnavailable):  # the welcome never needs the store
                in_check = await svc.current(key=key, update_id=update.update_id) is not None
            await self._send(ctx, chat_id, svc.welcome(in_check=in_check), key)
        elif name == "cancel":
            reply = await svc.cancel(key=key, update_id=update.update_id)
            await self._send(ctx, chat_id, reply.screen, key)
        elif name == "forget":
            reply = await svc.forget(key=key, update_id=update.update_id)
            await self._send(ctx, chat_id, reply.screen, key)
        elif name in LOOKUPS:
            await self._lookup(ctx, chat_id, key, name, update.update_id)

    async def stats(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        """/stats: anonymous figures for ADMIN_USER_IDS; anyone else gets the normal help."""
        await self._guarded(update, ctx, self._stats(update, ctx))

    async def _stats(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        user, chat = update.effective_user, update.effective_chat
        assert chat is not None
        key = self._key(update, ctx.bot.id)
        if user is None or user.id not in self.admin_ids:
            await self._lookup(ctx, chat.id, key, "help", update.update_id)
            return
        svc = self.service
        with contextlib.suppress(StoreUnavailable):  # the figures below say so if it is down
            await svc.record(key=key, update_id=update.update_id)
        screen = await load_stats(svc.store, svc.flow.content, today=svc.clock().date())
        await self._send(ctx, chat.id, screen, key)

    async def _lookup(
        self, ctx: ContextTypes.DEFAULT_TYPE, chat_id: int, key: str, name: str, update_id: int
    ) -> None:
        """A reference screen. Its update id is recorded, so a redelivery is not answered twice
        (raises Duplicate); with the store down it is answered all the same."""
        in_check = False
        with contextlib.suppress(StoreUnavailable):  # a lookup never needs the store
            in_check = await self.service.current(key=key, update_id=update_id) is not None
        await asyncio.gather(
            self._send(ctx, chat_id, self.service.lookup(name, in_check=in_check), key),
            self.service.note_lookup(name),
        )

    async def button(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        """A button press: answer the query and show the result, concurrently."""
        query = update.callback_query
        assert query is not None
        chat = update.effective_chat
        if chat is None or chat.type != ChatType.PRIVATE or query.message is None:
            await self._answer(query)
            return
        await self._guarded(update, ctx, self._button(update, ctx, query))

    async def _button(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE, query: CallbackQuery) -> None:
        key = self._key(update, ctx.bot.id)
        chat_id = update.effective_chat.id  # type: ignore[union-attr]
        pressed = callbacks.decode(self.secret, key, query.data)
        svc = self.service
        if pressed is None:
            await self._not_valid(ctx, update, query, chat_id, key)
            return
        action = pressed.action
        kind, _, arg = action.partition(":")
        if kind == "look" and arg in LOOKUPS:
            await asyncio.gather(self._answer(query), self._lookup(ctx, chat_id, key, arg, update.update_id))
        elif kind == "x":
            await svc.record(key=key, update_id=update.update_id)
            await asyncio.gather(self._answer(query), self._clear(ctx, chat_id, key, int(arg), query))
        elif kind == "fb":
            # The outcome stays as it is; the thanks come as a new message. Recorded first, so a
            # redelivered press is neither counted nor thanked twice.
            with contextlib.suppress(StoreUnavailable):
                await svc.record(key=key, update_id=update.update_id)
            thanks = await svc.report_problem(arg)
            await asyncio.gather(self._answer(query), self._send(ctx, chat_id, thanks.screen, key))
        elif action == "start":
            anchor = query.message.message_id if query.message else None
            reply = await svc.start(key=key, update_id=update.update_id, anchor=anchor)
            await asyncio.gather(
                self._answer(query), self._edit(ctx, query, chat_id, reply.screen, key, reply.token)
            )
        elif action == "restart":
            reply = await svc.start(key=key, update_id=update.update_id)
            await asyncio.gather(
                self._answer(query), self._send(ctx, chat_id, reply.screen, key, reply.token)
            )
        elif action == "resume":
            current = await svc.current(key=key, update_id=update.update_id)
            if current is None:
                await self._ended(ctx, query, chat_id, key, svc.ended())
                return
            await asyncio.gather(
                self._answer(query), self._send(ctx, chat_id, current.screen, key, current.token)
            )
        else:
            token = Token(pressed.check_id, pressed.version) if pressed.check_id else None
            reply = await svc.act(key=key, update_id=update.update_id, action=action, token=token)
            await self._show(ctx, query, chat_id, key, reply)

    async def _show(
        self, ctx: ContextTypes.DEFAULT_TYPE, query: CallbackQuery, chat_id: int, key: str, reply: Reply
    ) -> None:
        if reply.ended:
            await self._ended(ctx, query, chat_id, key, reply)
        elif not reply.changed and reply.token is None:
            await self._answer(query)
        elif reply.edit:
            # Unchanged (a double tap, or a button from an older screen of this check): the pressed
            # message is redrawn as the current step, so a screen left behind by a failed edit
            # heals on the next tap instead of leaving buttons that do nothing.
            await asyncio.gather(
                self._answer(query), self._edit(ctx, query, chat_id, reply.screen, key, reply.token)
            )
        else:
            # The outcome stays in the chat as a new message, sent once (never retried when it may
            # have arrived); the step message loses its buttons.
            await asyncio.gather(
                self._answer(query),
                self._send(ctx, chat_id, reply.screen, key, reply.token, reply.anchor, repeatable=False),
                self._drop_buttons(query),
            )

    async def _not_valid(
        self, ctx: ContextTypes.DEFAULT_TYPE, update: Update, query: CallbackQuery, chat_id: int, key: str
    ) -> None:
        """A button this bot did not draw for this chat (forged, tampered, another chat's).

        With this chat's own check open, it changes nothing: say the button is not valid and show
        the current step anew (the pressed message may be an outcome, so it is not edited).
        """
        svc = self.service
        current = await svc.current(key=key, update_id=update.update_id)
        if current is None:
            await self._ended(ctx, query, chat_id, key, svc.ended())
            return
        await asyncio.gather(
            self._answer(query, svc.flow.content.texts.invalid_button),
            self._send(ctx, chat_id, current.screen, key, current.token),
        )

    async def _ended(
        self, ctx: ContextTypes.DEFAULT_TYPE, query: CallbackQuery, chat_id: int, key: str, reply: Reply
    ) -> None:
        stale = self.service.flow.content.texts.stale
        await asyncio.gather(self._answer(query, stale), self._send(ctx, chat_id, reply.screen, key))

    @staticmethod
    async def _drop_buttons(query: CallbackQuery) -> None:
        """Best effort: a button left behind on an old step says "ended" when pressed."""
        try:
            await with_retry(lambda: query.edit_message_reply_markup(None))
        except TelegramError as err:  # already gone, unchanged, or the network: nothing to do
            log.info("old step kept its buttons: %s", type(err).__name__)

    async def _clear(
        self, ctx: ContextTypes.DEFAULT_TYPE, chat_id: int, key: str, anchor: int, query: CallbackQuery
    ) -> None:
        """Delete this check's messages, both sides, as far as Telegram still allows.

        If another check is open (started from an older message inside the cleared range, say),
        its step is sent again afterwards, so clearing never takes a check in progress with it.
        """
        last = query.message.message_id if query.message else anchor
        first = max(anchor, last - CLEAR_LIMIT)
        ids = list(range(first, last + 1))
        for start in range(0, len(ids), 100):
            batch = ids[start : start + 100]
            try:
                await with_retry(functools.partial(ctx.bot.delete_messages, chat_id, batch))
            except (BadRequest, Forbidden) as err:
                log.info("clear: some messages could not be deleted: %s", type(err).__name__)
        current = None
        with contextlib.suppress(StoreUnavailable):
            current = await self.service.current(key=key, update_id=None)
        if current is not None:
            await self._send(ctx, chat_id, current.screen, key, current.token)

    async def typed(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        """Anything typed or sent (text, media, forwards): deleted unread, with one line of advice."""
        msg = update.effective_message
        chat = update.effective_chat
        if msg is None or chat is None or chat.type != ChatType.PRIVATE:
            return
        await self._guarded(update, ctx, self._typed(update, ctx, msg))

    async def _typed(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE, msg: Message) -> None:
        async def delete() -> None:
            try:
                await with_retry(lambda: ctx.bot.delete_message(msg.chat_id, msg.message_id))
            except (BadRequest, Forbidden) as err:
                log.info("typed message not deleted: %s", type(err).__name__)

        fresh = True  # a redelivered message is deleted again (harmless) but not answered twice
        try:
            await self.service.record(key=self._key(update, ctx.bot.id), update_id=update.update_id)
        except Duplicate:
            fresh = False
        except StoreUnavailable:
            pass
        text = self.service.flow.content.texts.typed
        await delete()
        # A burst (100 forwarded messages is one action) is deleted message by message but answered
        # once, after its last message: while more of this chat's updates are queued, no reply.
        if fresh and backlog(ctx.application, msg.chat_id) == 0:
            await with_retry(lambda: ctx.bot.send_message(msg.chat_id, text))

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
                await self._safety_net(ctx, update.effective_chat.id)
            except TelegramError as err:
                log.error("could not send safety net: %s", type(err).__name__)
