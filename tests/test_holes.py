"""Smaller holes found by trying the bot as an attacker and as a practitioner (issue 12, §5).

Through PTB's real request layer and the Bot API double: business updates, redelivered updates
that change no check, /start during a check, and the chat key secret's strength.
"""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.telegram.handlers import ALLOWED_UPDATES
from storage.sql import SqlStore, migrate
from tests.botapi import message, press
from tests.telegram_harness import TOKEN, running_bot

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


def problems(secret: str) -> list[str]:
    settings = Settings(telegram_bot_token=TOKEN, chat_key_secret=secret, contacts_file="contacts.yaml")
    return [p for p in settings.telegram_problems() if p.startswith("CHAT_KEY_SECRET")]


@pytest.mark.parametrize(
    "secret",
    [
        "ab" * 20,
        "1234567890" * 4,
        "abcdefghijklmnopqrstuvwxyzabcdefgh",
        "qwertyuiopasdfghjklzxcvbnmqwertyui",
        "replace-with-32-or-more-random-characters",
        "changemechangemechangemechangeme",
        "your_secret_" + secrets.token_urlsafe(32),
        "short" + secrets.token_urlsafe(8),
    ],
    # Named, not shown: the random parts differ in each pytest-xdist worker, whose test ids must agree.
    ids=["pairs", "digits", "alphabet", "keyboard", "example", "changeme", "your_secret", "short"],
)
def test_a_low_entropy_chat_key_secret_is_refused_clearly(secret: str) -> None:
    (problem,) = problems(secret)
    assert "random" in problem and secret not in problem


RANDOM_SECRETS = [
    "Zq7xxxK" + secrets.token_urlsafe(32),
    "dtodoZ" + secrets.token_urlsafe(32),
    secrets.token_urlsafe(32) + "4changeQ",
    "x8Hq2changeRw9T" + secrets.token_hex(12) + "TODOp",
    secrets.token_hex(16),
    *(secrets.token_urlsafe(32) for _ in range(20)),
]


@pytest.mark.parametrize("secret", RANDOM_SECRETS, ids=[f"random-{i}" for i in range(len(RANDOM_SECRETS))])
def test_a_random_chat_key_secret_is_accepted_whatever_it_happens_to_contain(secret: str) -> None:
    assert problems(secret) == []

