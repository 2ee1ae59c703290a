"""One update at a time per chat, in arrival order, and a chat takes its turn *before* a slot.

PTB runs up to ``max_concurrent_updates`` updates at once (its :class:`BaseUpdateProcessor`).
Screens of one chat must reach Telegram in the order its check changed, or two quick taps can
leave a screen whose buttons no longer continue the check; so updates of one chat run one after
another. If the per-chat turn were taken inside a processing slot, a chat that sends 500 messages
at once (forwarding 100 messages is one action) would hold every slot while its updates wait for
each other, and every other practitioner would wait behind it (30.6 s for /emergency, measured).
Here an update first waits for its chat's turn, holding nothing, and only then takes a slot: a
flooding chat holds at most one, whatever its backlog.

:func:`backlog` tells a handler how many updates of its chat are queued behind the one it is
handling, so a burst can be answered once (see ``TelegramFrontEnd._typed``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import Application, BaseUpdateProcessor

# PTB's own semaphore must never be what limits (see ChatOrderedUpdateProcessor).
_UNBOUNDED = 1_000_000_000


@dataclass
class _Turn:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0  # updates of this chat arrived and not finished (the running one included)


def chat_of(update: object) -> int | None:
    """The chat an update belongs to, or None (inline queries, presses on inline messages)."""
    if isinstance(update, Update) and update.effective_chat is not None:
        return update.effective_chat.id
    return None


class ChatOrderedUpdateProcessor(BaseUpdateProcessor):
    """Up to ``max_concurrent_updates`` updates at once, at most one per chat, each chat's in order.

    PTB's :meth:`BaseUpdateProcessor.process_update` (final) takes PTB's semaphore and then calls
    :meth:`do_process_update`. That semaphore is made wide enough never to bind; the limit is
    applied here instead, after the chat's turn: turn first, then a slot.
    """

    def __init__(self, max_concurrent_updates: int) -> None:
        if max_concurrent_updates < 1:
            raise ValueError("max_concurrent_updates must be a positive integer")
        # PTB's __init__ sizes its semaphore from the max_concurrent_updates property: unbounded
        # while it runs, then the real limit, which applies to our own slots.
        self._limit = _UNBOUNDED
        super().__init__(_UNBOUNDED)
        self._limit = max_concurrent_updates
        self._slots = asyncio.BoundedSemaphore(max_concurrent_updates)
        self._running = 0
        # Entries live only while a chat has updates in flight.
        self._turns: dict[int, _Turn] = {}

    @property
    def max_concurrent_updates(self) -> int:
        return self._limit

    @property
    def current_concurrent_updates(self) -> int:
        """Updates holding a slot now (not those waiting for their chat's turn)."""
        return self._running

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = chat_of(update)
        if chat is None:
            await self._in_a_slot(coroutine)
            return
        turn = self._turns.setdefault(chat, _Turn())
        turn.users += 1
        started = False
        try:
            async with turn.lock:  # FIFO: this chat's updates run in the order they arrived
                started = True
                await self._in_a_slot(coroutine)
        finally:
            turn.users -= 1
            if turn.users == 0:
                del self._turns[chat]
            if not started and asyncio.iscoroutine(coroutine):
                coroutine.close()  # cancelled while waiting (shutdown): never started, nothing to do

    async def _in_a_slot(self, coroutine: Awaitable[Any]) -> None:
        async with self._slots:
            self._running += 1
            try:
                await coroutine
            finally:
                self._running -= 1

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    def backlog(self, chat_id: int) -> int:
        """Updates of this chat waiting behind the one now running."""
        turn = self._turns.get(chat_id)
        return max(0, turn.users - 1) if turn is not None else 0


def backlog(app: Application[Any, Any, Any, Any, Any, Any], chat_id: int) -> int:
    """How many updates of ``chat_id`` are queued behind the current one (0 without this processor)."""
    processor = app.update_processor
    return processor.backlog(chat_id) if isinstance(processor, ChatOrderedUpdateProcessor) else 0
