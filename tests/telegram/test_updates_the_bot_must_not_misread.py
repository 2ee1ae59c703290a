"""Updates the bot must not misread (found by trying it as an attacker and as a practitioner,
issue 12, §5).

Through PTB's real request layer and the Bot API double: business updates are ignored, an update
Telegram delivers again is not answered again, and /start during a check offers going back to it.
(The chat key secret's strength, from the same review: ``tests/ops/test_chat_key_secret.py``.)
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from bot.telegram.handlers import ALLOWED_UPDATES
from storage.sql.schema import migrate
from storage.sql.store import SqlStore
from testkit.botapi import message, press
from testkit.telegram_harness import running_bot

CHAT = 5550101
REPLIES = ("sendMessage", "editMessageText", "deleteMessage", "deleteMessages", "leaveChat")


def replies(calls: list[Any]) -> list[str]:
    return [c.method for c in calls if c.method in REPLIES]


@pytest.mark.parametrize("kind", ["business_message", "edited_business_message"])
async def test_a_business_message_is_ignored_not_deleted_or_answered(kind: str) -> None:
    async with running_bot() as bot:
        raw = message(bot.api, CHAT, "Jane Smith lives at 12 High Street")
        raw[kind] = raw.pop("message")
        raw[kind]["business_connection_id"] = "bc-1"
        n = len(bot.api.calls)
        await bot.feed(raw)
        assert replies(bot.api.calls[n:]) == [], "nothing deleted or sent in a business chat"
        assert kind not in ALLOWED_UPDATES


def test_the_bot_subscribes_only_to_the_update_types_it_handles() -> None:
    assert sorted(ALLOWED_UPDATES) == [
        "callback_query",
        "channel_post",
        "edited_channel_post",
        "edited_message",
        "message",
    ]


@pytest.mark.parametrize(
    "what",
    ["/start", "/help", "/emergency", "/contacts", "look:emergency", "clear", "report", "/forget", "typed"],
)
async def test_a_redelivered_update_is_not_answered_again(what: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cse.db'}"
    migrate(url)
    store = SqlStore(url=url, ttl=dt.timedelta(hours=1))
    async with running_bot(store) as bot:
        if what in ("look:emergency", "clear", "report"):
            await bot.walk_to_outcome(CHAT)
            label = {"look:emergency": "Emergency", "clear": "Clear this chat", "report": "Report a problem"}
            mid, data = bot.button(CHAT, label[what])
            raw = press(CHAT, data, mid)
        else:
            raw = message(bot.api, CHAT, "Her name is Jane" if what == "typed" else what)
        await bot.feed(raw)
        n = len(bot.api.calls)
        await bot.feed(raw)  # Telegram sends it again (same update id)
        again = replies(bot.api.calls[n:])
        # A typed message may be deleted again (harmless), but never answered twice.
        assert again == (["deleteMessage"] if what == "typed" else []), again


async def test_start_during_a_check_offers_going_back_to_it_as_well_as_starting_anew() -> None:
    async with running_bot() as bot:
        await bot.send(CHAT, "/check")
        await bot.tap(CHAT, "No")
        await bot.send(CHAT, "/start")
        labels = [t for _, t, _ in bot.api.buttons(CHAT)[-3:]]
        assert labels == ["▶ Back to the check", "🔁 Start a new check", "🚨 Emergency"]
        await bot.tap(CHAT, "Back to the check")
        assert "How old is the child" in bot.last_text(CHAT)
        await bot.send(CHAT, "/forget")
        await bot.send(CHAT, "/start")
        assert "Back to the check" not in [t for _, t, _ in bot.api.buttons(CHAT)]
