"""Drive the real PTB Application as a practitioner would: send commands, tap buttons by label."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from telegram import Update

from bot import wiring
from bot.config import Settings
from bot.service import CheckService
from bot.telegram.app import build_application
from storage.base import ConversationStore
from testkit.botapi import FakeRequest, FakeTelegram, message, press
from testkit.helpers import TOKEN, find_button, running
from testkit.memory_store import MemoryStore
from testkit.shipped import example_directory, shipped_content


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "telegram_bot_token": TOKEN,
        "chat_key_secret": secrets.token_urlsafe(32),
        "telegram_api_base_url": "http://127.0.0.1:9",
    }
    values.update(overrides)
    return Settings(**values)


def make_service(store: ConversationStore | None = None, now: dt.datetime | None = None) -> CheckService:
    moment = now or dt.datetime(2026, 12, 2, 10, 0)
    return wiring.check_service(
        store=store or MemoryStore(),
        directory=example_directory(),
        content=shipped_content(),
        clock=lambda: moment,
    )


class Bot:
    """One bot Application over the Bot API double."""

    def __init__(self, app: Any, api: FakeTelegram, service: CheckService) -> None:
        self.app = app
        self.api = api
        self.service = service

    async def feed(self, raw: dict[str, Any]) -> None:
        await self.app.process_update(Update.de_json(raw, self.app.bot))

    async def send(self, chat_id: int, text: str | None = None, **kw: Any) -> dict[str, Any]:
        raw = message(self.api, chat_id, text, **kw)
        await self.feed(raw)
        return raw

    def button(self, chat_id: int, label: str) -> tuple[int, str]:
        """The newest live button labelled ``label`` (or containing it): (message id, callback data)."""
        return find_button(self.api.buttons(chat_id), label)

    async def tap(self, chat_id: int, label: str, *, update_id: int | None = None) -> dict[str, Any]:
        mid, data = self.button(chat_id, label)
        raw = press(chat_id, data, mid, update_id=update_id)
        await self.feed(raw)
        return raw

    def last_text(self, chat_id: int) -> str:
        texts = [
            str(c.params.get("text", ""))
            for c in self.api.calls
            if c.method in ("sendMessage", "editMessageText") and int(c.params["chat_id"]) == chat_id
        ]
        return texts[-1] if texts else ""

    def texts(self, chat_id: int) -> str:
        return "\n".join(
            str(c.params.get("text", ""))
            for c in self.api.calls
            if c.method in ("sendMessage", "editMessageText") and int(c.params["chat_id"]) == chat_id
        )

    async def walk_to_outcome(
        self,
        chat_id: int,
        *,
        danger: str = "No",
        age: str = "13 to 15",
        service: str = "Education",
        ticks: tuple[str, ...] = (),
        follow: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """/check, then answers by button label, ticking the given items, Done elsewhere. A
        follow-up question (such as when an assault happened) gets the option in ``follow`` that
        it shows, else its first option."""
        command = await self.send(chat_id, "/check")
        await self.tap(chat_id, danger)
        if danger != "No":
            await self.tap(chat_id, "Continue the check")
        await self.tap(chat_id, age)
        await self.tap(chat_id, service)
        for _ in range(40):
            labels = [t for _, t, _ in self.api.buttons(chat_id)]
            if any("Done" in t for t in labels):
                for tick in ticks:
                    if any(tick in label for label in labels):
                        await self.tap(chat_id, tick)
                await self.tap(chat_id, "Done")
            elif labels and not any("Start a new check" in t for t in labels):
                await self.tap(chat_id, next((f for f in follow if f in labels), labels[0]))
            else:
                break
        return command


@asynccontextmanager
async def running_bot(
    store: ConversationStore | None = None, *, now: dt.datetime | None = None, **overrides: Any
) -> AsyncIterator[Bot]:
    api = FakeTelegram()
    service = make_service(store, now)
    app = build_application(settings(**overrides), service, request=FakeRequest(api))
    async with running(app):
        yield Bot(app, api, service)
