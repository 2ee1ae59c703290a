"""Telegram handlers: turn updates into service actions, and screens into messages.

Thin on purpose: every rule lives in `flows/`, every piece of state in the store. What happens
here is Telegram's part: private chats only, signed buttons, one message edited in place per
step, the outcome as a new message, typed text deleted unread, and the emergency line whenever
anything fails.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.service import CheckService, Duplicate, StoreUnavailable, Token, chat_key
from bot.telegram import callbacks
from bot.telegram.delivery import with_retry
from bot.telegram.guards import ALLOWED_UPDATES, Guards
from bot.telegram.ordering import backlog
from bot.telegram.sending import Sender
from flows.screens import LOOKUPS

log = logging.getLogger(__name__)
__all__ = ["ALLOWED_UPDATES", "COMMANDS", "TelegramFrontEnd"]

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
# Each command is the action of the button that does the same (flows.screens.Action).
COMMAND_ACTIONS: dict[str, str] = {
    "check": "start",
    "start": "welcome",
    "cancel": "stop",
    "forget": "forget",
    **{name: f"look:{name}" for name in LOOKUPS},
}


class TelegramFrontEnd:
    """Handlers for one bot, over one :class:`CheckService`: each turns an update into an action
    for :meth:`CheckService.press` and the reply into messages; the guards run once around each."""

    def __init__(
        self, service: CheckService, *, secret: bytes, admin_ids: frozenset[int] = frozenset()
    ) -> None:
        self.service = service
        self.secret = secret
        self.admin_ids = admin_ids
        self.out = Sender(service, secret)
        self.guards = Guards(service, self.out)
        # One update at a time per chat, in order, is the update processor's job
        # (bot/telegram/ordering.py): it takes the chat's turn before a processing slot.

    # -- registration ---------------------------------------------------------------------
    def register(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """All handlers, in order: the chat guard first (group -1), then each handler inside the
        safety net (:meth:`Guards.net`)."""
        app.add_handler(TypeHandler(Update, self.guards.guard), group=-1)
        private = filters.ChatType.PRIVATE & ~filters.FORWARDED & filters.UpdateType.MESSAGE
        net = self.guards.net
        app.add_handler(CommandHandler(list(COMMAND_ACTIONS), net(self.command), filters=private))
        app.add_handler(CommandHandler("stats", net(self.stats), filters=private))
        app.add_handler(CallbackQueryHandler(net(self.button)))
        app.add_handler(MessageHandler(filters.ALL, net(self.typed)))
        app.add_error_handler(self.guards.on_error)

    @staticmethod
    async def set_commands(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """The commands menu for private chats (called at start-up)."""
        await app.bot.set_my_commands(
            [BotCommand(n, d) for n, d in COMMANDS], scope=BotCommandScopeAllPrivateChats()
        )

    def _key(self, update: Update, bot_id: int) -> str:
        chat = update.effective_chat
        assert chat is not None
        return chat_key(self.secret, bot_id, chat.id)

    # -- handlers ---------------------------------------------------------------------------
    async def command(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        """Every command: the check, lookups, /start, /cancel and /forget, each as a new message."""
        msg = update.effective_message
        assert msg is not None and msg.text is not None
        name = msg.text.split()[0].lstrip("/").split("@")[0].lower()
        if name == "start" and (ctx.args or [])[:1] in (["emergency"], ["check"]):
            name = (ctx.args or [])[0]  # a deep link: t.me/<bot>?start=check
        key = self._key(update, ctx.bot.id)
        reply = await self.service.press(
            key=key, action=COMMAND_ACTIONS[name], update_id=update.update_id, anchor=msg.message_id
        )
        await self.out.send(ctx, msg.chat_id, reply.screen, key, reply.token)

    async def stats(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        """/stats: anonymous figures for ADMIN_USER_IDS; anyone else gets the normal help."""
        user, chat = update.effective_user, update.effective_chat
        assert chat is not None
        key = self._key(update, ctx.bot.id)
        svc = self.service
        if user is None or user.id not in self.admin_ids:
            reply = await svc.press(key=key, action="look:help", update_id=update.update_id)
            await self.out.send(ctx, chat.id, reply.screen, key)
            return
        with contextlib.suppress(StoreUnavailable):  # the figures below say so if it is down
            await svc.record(key=key, update_id=update.update_id)
        await self.out.send(ctx, chat.id, await svc.stats(), key)

    async def button(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        """A button press: what it does is the service's (:meth:`CheckService.press`); the query
        is answered and the reply shown concurrently."""
        query = update.callback_query
        assert query is not None
        chat = update.effective_chat
        if chat is None or chat.type != ChatType.PRIVATE or query.message is None:
            await self.out.answer(query)
            return
        key = chat_key(self.secret, ctx.bot.id, chat.id)
        pressed = callbacks.decode(self.secret, key, query.data)
        note = None
        if pressed is None:
            # A button this bot did not draw for this chat (forged, tampered, another chat's): it
            # changes nothing; with this chat's own check open, "not valid here" and the current
            # step anew (the pressed message may be an outcome, so it is not edited).
            note = self.service.flow.content.texts.invalid_button
            pressed = callbacks.Pressed(None, 0, "resume")
        reply = await self.service.press(
            key=key,
            action=pressed.action,
            token=Token(pressed.check_id, pressed.version) if pressed.check_id else None,
            update_id=update.update_id,
            anchor=query.message.message_id,
        )
        await self.out.show(ctx, query, key, reply, note=note)

    async def typed(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        """Anything typed or sent (text, media, forwards): deleted unread, with one line of advice."""
        msg = update.effective_message
        chat = update.effective_chat
        if msg is None or chat is None or chat.type != ChatType.PRIVATE:
            return

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

