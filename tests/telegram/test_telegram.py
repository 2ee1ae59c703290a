"""The bot in Telegram, through PTB's real request layer and a Bot API double: what a
practitioner sees and what Telegram is asked to do."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import pytest

from bot.telegram import callbacks
from storage.base import Decision, StoreUnavailable
from testkit.botapi import BOT_ID, press
from testkit.memory_store import MemoryStore
from testkit.telegram_harness import running_bot

CHAT = 5550001
INVALID = "That button is not valid here. Here is your check, where you left it."


def first_step(bot: Any) -> str:
    return str(bot.service.flow.step("danger").text)

IDENTIFYING = ["Jane Smith", "14/03/2012", "12 High Street, Falkirk", "07700 900123", "Falkirk High School"]


async def test_start_greets_in_two_lines_with_a_start_button() -> None:
    async with running_bot() as bot:
        await bot.send(CHAT, "/start")
        text = bot.last_text(CHAT)
        assert "never replaces your professional judgement" in text and "999" in text
        labels = [t for _, t, _ in bot.api.buttons(CHAT)]
        assert labels[0] == "▶ Start the check" and "🚨 Emergency" in labels


async def test_commands_menu_is_set_for_private_chats_with_emergency_first() -> None:
    async with running_bot() as bot:
        (params,) = bot.api.of("setMyCommands")
        commands = [c["command"] for c in params["commands"]]
        assert commands[0] == "emergency"
        assert set(commands) >= {
            "start",
            "check",
            "emergency",
            "indicators",
            "vulnerabilities",
            "online",
            "whatis",
            "contacts",
            "privacy",
            "about",
            "help",
            "cancel",
            "forget",
        }
        assert params["scope"]["type"] == "all_private_chats"
        await bot.send(CHAT, "/help")
        assert bot.last_text(CHAT).index("/emergency") < bot.last_text(CHAT).index("/check")


@pytest.mark.parametrize(
    ("danger", "ticks", "title"),
    [
        ("🚨 Yes, in danger now", (), "Emergency: call 999 now"),
        ("No", ("Missing right now",), "Act now: call the police"),
        ("No", ("Told someone",), "Share this concern today"),
        ("No", ("Poverty",), "A concern to talk through"),
        ("No", (), "No signs ticked"),
    ],
)
async def test_a_full_check_by_buttons_reaches_each_level(
    danger: str, ticks: tuple[str, ...], title: str
) -> None:
    async with running_bot() as bot:
        await bot.walk_to_outcome(CHAT, danger=danger, ticks=ticks)
        outcome = bot.last_text(CHAT)
        assert title in outcome
        assert "999" in outcome and "Who to contact" in outcome
        assert "EXAMPLE School Child Protection Coordinator" in outcome, "the chosen service's contact"
        assert "never replaces your professional judgement" in outcome
        # The outcome is a new message that stays; it offers a new check and clearing the chat.
        labels = [t for _, t, _ in bot.api.buttons(CHAT)]
        assert "🔁 Start a new check" in labels and "🧹 Clear this chat" in labels
        if danger != "No":
            assert outcome.index("999") < outcome.index("designated person")


async def test_every_step_is_one_message_edited_in_place_and_every_tap_is_answered() -> None:
    async with running_bot() as bot:
        await bot.walk_to_outcome(CHAT, ticks=("Assault", "Poverty"))
        presses = [c for c in bot.api.calls if c.method == "answerCallbackQuery"]
        sends = bot.api.of("sendMessage")
        edits = bot.api.of("editMessageText")
        assert len(sends) == 2, "the first step and the outcome; everything between is an edit"
        assert len(edits) == len(presses) - 1
        assert all(p.get("protect_content") is True for p in sends)
        assert all(len(p["text"]) <= 4096 for p in sends + edits)


async def test_toggles_show_a_tick_and_done_keeps_them() -> None:
    async with running_bot() as bot:
        await bot.send(CHAT, "/check")
        for label in ("No", "16 or 17", "Health (NHS)", "Assault, seen or suspected"):
            await bot.tap(CHAT, label)
        assert "✅ Assault, seen or suspected" in [t for _, t, _ in bot.api.buttons(CHAT)]
        await bot.tap(CHAT, "✅ Assault")
        assert "Assault, seen or suspected" in [t for _, t, _ in bot.api.buttons(CHAT)]


async def test_none_of_these_is_not_offered_once_something_is_ticked() -> None:
    async with running_bot() as bot:
        await bot.send(CHAT, "/check")
        for label in ("No", "13 to 15", "Education"):
            await bot.tap(CHAT, label)
        mid, stale_none = bot.button(CHAT, "None of these")
        await bot.tap(CHAT, "Controlling adult in their life")
        labels = [t for _, t, _ in bot.api.buttons(CHAT)]
        assert "None of these" not in labels and "Not sure" in labels
        # A "None of these" press from before the tick changes nothing: the tick stays.
        await bot.feed(press(CHAT, stale_none, mid))
        assert "✅ Controlling adult in their life" in [t for _, t, _ in bot.api.buttons(CHAT)]
        for _ in range(6):
            await bot.tap(CHAT, "Done")
        assert "Share this concern today" in bot.last_text(CHAT)


async def test_lookups_mid_check_do_not_lose_it() -> None:
    async with running_bot() as bot:
        await bot.send(CHAT, "/check")
        await bot.tap(CHAT, "No")
        await bot.send(CHAT, "/indicators")
        assert "Possible signs of CSE" in bot.last_text(CHAT)
        await bot.tap(CHAT, "Back to the check")
        assert "How old is the child" in bot.last_text(CHAT)
        await bot.tap(CHAT, "16 or 17")
        assert "Which service do you work in" in bot.last_text(CHAT)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [("emergency", "If a child is in immediate danger"), ("check", "in danger right now?")],
)
async def test_deep_links_open_their_screen(payload: str, expected: str) -> None:
    async with running_bot() as bot:
        await bot.send(CHAT, f"/start {payload}")
        assert expected in bot.last_text(CHAT)


@pytest.mark.parametrize("chat_type", ["group", "supergroup", "channel"])
async def test_outside_a_private_chat_the_bot_says_so_and_leaves(chat_type: str) -> None:
    async with running_bot() as bot:
        await bot.send(-100123, "/check", chat_type=chat_type)
        assert [c.method for c in bot.api.calls[2:]] == ["sendMessage", "leaveChat"]
        assert "only in a private chat" in bot.api.of("sendMessage")[0]["text"]
        assert bot.service.store.rows == {}  # type: ignore[attr-defined]


async def test_typed_details_are_deleted_and_never_kept_or_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with running_bot() as bot:
        await bot.send(CHAT, "/check")
        await bot.tap(CHAT, "No")
        for text in IDENTIFYING:
            raw = await bot.send(CHAT, text)
            assert (CHAT, raw["message"]["message_id"]) in bot.api.deleted
            assert "don't type names or details" in bot.last_text(CHAT)
        await bot.send(CHAT, None, photo=[{"file_id": "x", "file_unique_id": "y", "width": 1, "height": 1}])
        await bot.send(
            CHAT,
            "Jane Smith",
            forward_origin={"type": "hidden_user", "date": 1, "sender_user_name": "Jane Smith"},
        )
        store: MemoryStore = bot.service.store  # type: ignore[assignment]
        kept = json.dumps([r.__dict__ for r, _ in store.rows.values()]) + repr(store.rows.keys())
        logs = caplog.text
        for secret in [*IDENTIFYING, str(CHAT)]:
            assert secret not in kept
            assert secret not in logs
        assert bot.api.buttons(CHAT), "the check is still there, at the same step"
        assert "How old is the child" in bot.texts(CHAT)


async def test_a_button_from_a_finished_check_says_it_has_ended() -> None:
    async with running_bot() as bot:
        await bot.send(CHAT, "/check")
        mid, old = bot.button(CHAT, "No")
        await bot.walk_to_outcome(CHAT)
        await bot.feed(press(CHAT, old, mid))
        answer = bot.api.of("answerCallbackQuery")[-1]
        assert answer["text"] == "This check has ended. Start a new one."
        notice = bot.last_text(CHAT)
        assert "This check has ended" in notice, "and the notice in the chat says so too"
        assert "999" in notice and "Child Protection Coordinator" in notice, "with whom to call"


@pytest.mark.parametrize(
    "data", ["garbage", "x" * 64, "a" * 200, "-.0.look:emergency.AAAAAAAA", "", "a.1.a:no.zz"]
)
async def test_forged_malformed_or_oversized_callback_data_is_refused(data: str) -> None:
    async with running_bot() as bot:
        await bot.send(CHAT, "/check")
        before = dict(bot.service.store.rows)  # type: ignore[attr-defined]
        await bot.feed(press(CHAT, data, 1))
        assert bot.service.store.rows == before  # type: ignore[attr-defined]
        # The chat's own check is open and unchanged: the button is not valid, the step is shown again.
        assert bot.api.of("answerCallbackQuery")[-1]["text"] == INVALID
        assert first_step(bot) in bot.last_text(CHAT) and "has ended" not in bot.texts(CHAT)
        assert bot.button(CHAT, "No")
    async with running_bot() as bot:  # with no check open, it has ended, and the notice has 999
        await bot.feed(press(CHAT, data, 1))
        assert bot.api.of("answerCallbackQuery")[-1]["text"] == "This check has ended. Start a new one."
        assert "999" in bot.last_text(CHAT) and "designated person" in bot.last_text(CHAT)


async def test_data_signed_for_another_chat_is_refused() -> None:
    async with running_bot() as bot:
        await bot.send(CHAT, "/check")
        await bot.send(CHAT + 1, "/check")
        mid, data = bot.button(CHAT, "No")
        await bot.feed(press(CHAT + 1, data, mid))
        assert bot.api.of("answerCallbackQuery")[-1]["text"] == INVALID
        assert first_step(bot) in bot.last_text(CHAT + 1) and "has ended" not in bot.texts(CHAT + 1)


async def test_a_double_tap_changes_state_once() -> None:
    async with running_bot() as bot:
        await bot.send(CHAT, "/check")
        for label in ("No", "16 or 17", "Health (NHS)"):
            await bot.tap(CHAT, label)
        mid, data = bot.button(CHAT, "Assault, seen or suspected")
        await bot.feed(press(CHAT, data, mid))
        await bot.feed(press(CHAT, data, mid))  # the same button again, before the edit arrived
        assert "✅ Assault, seen or suspected" in [t for _, t, _ in bot.api.buttons(CHAT)]
        # A redelivered update (same update id) changes nothing either.
        mid, data = bot.button(CHAT, "Done")
        raw = press(CHAT, data, mid)
        await bot.feed(raw)
        await bot.feed(raw)
        assert "Serious signs (2 of 2)" in bot.last_text(CHAT)
        assert all(c.method != "sendMessage" or "went wrong" not in c.params["text"] for c in bot.api.calls)


async def test_clear_this_chat_deletes_the_checks_messages() -> None:
    async with running_bot() as bot:
        await bot.send(CHAT, "/help")
        command = await bot.walk_to_outcome(CHAT)
        await bot.tap(CHAT, "Clear this chat")
        deleted = {mid for chat, mid in bot.api.deleted if chat == CHAT}
        assert command["message"]["message_id"] in deleted
        assert max(mid for (chat, mid) in bot.api.messages if chat == CHAT) in deleted
        assert 1 not in deleted and 2 not in deleted, "messages from before the check stay"


class BrokenStore(MemoryStore):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    async def transact(self, **kwargs: Any) -> Decision:
        raise self.error


@pytest.mark.parametrize("error", [RuntimeError("bug"), StoreUnavailable("down")])
async def test_any_failure_still_gives_999_and_the_designated_contact(error: Exception) -> None:
    async with running_bot(BrokenStore(error)) as bot:
        await bot.send(CHAT, "/check")
        text = bot.last_text(CHAT)
        assert "999" in text and "Child Protection Coordinator" in text
        if isinstance(error, StoreUnavailable):
            assert "cannot continue right now" in text


async def test_emergency_works_even_with_the_store_down() -> None:
    async with running_bot(BrokenStore(StoreUnavailable("down"))) as bot:
        await bot.send(CHAT, "/emergency")
        assert "Call 999 now" in bot.last_text(CHAT)


async def test_cancel_and_forget() -> None:
    async with running_bot() as bot:
        await bot.send(CHAT, "/check")
        await bot.send(CHAT, "/cancel")
        assert "Check stopped" in bot.last_text(CHAT) and "999" in bot.last_text(CHAT)
        await bot.send(CHAT, "/check")
        assert bot.service.store.rows  # type: ignore[attr-defined]
        await bot.send(CHAT, "/forget")
        assert not bot.service.store.rows  # type: ignore[attr-defined]
        assert "Everything kept for this chat has been deleted" in bot.last_text(CHAT)


async def test_keys_are_pseudonymous() -> None:
    async with running_bot() as bot:
        await bot.send(CHAT, "/check")
        (key,) = bot.service.store.rows  # type: ignore[attr-defined]
        assert str(CHAT) not in key and str(BOT_ID) not in key and len(key) == 64


def test_callback_data_round_trips_and_fits() -> None:
    secret = b"s" * 32
    data = callbacks.encode(secret, "k", "t:sexuality_questioning", "AbCdEfGh", 999999)
    assert len(data.encode()) <= 64
    pressed = callbacks.decode(secret, "k", data)
    assert pressed is not None and pressed.action == "t:sexuality_questioning" and pressed.version == 999999
    assert callbacks.decode(secret, "other", data) is None
    assert callbacks.decode(b"t" * 32, "k", data) is None


async def test_a_check_in_progress_is_kept_as_answer_codes_only() -> None:
    async with running_bot() as bot:
        command = await bot.send(CHAT, "/check")
        await bot.tap(CHAT, "No")
        await bot.send(CHAT, "Jane Smith, 14, Falkirk High School")
        for label in ("16 or 17", "Health (NHS)", "Assault, seen or suspected"):
            await bot.tap(CHAT, label)
        store: MemoryStore = bot.service.store  # type: ignore[assignment]
        ((record, _),) = store.rows.values()
        conv = bot.service.flow.load(record.data)
        assert conv.to_dict() == record.data, "nothing beyond what the flow defines"
        assert (conv.state, conv.answers, conv.picked) == (
            "signs_1",
            {"danger": "no", "age": "16_17", "service": "health"},
            {"signs_1": ["assault"]},
        )
        assert record.anchor_message_id == command["message"]["message_id"]
        assert len(record.check_id) == 8 and record.content_version == bot.service.flow.content.meta.version


@pytest.mark.parametrize(
    ("now", "shown", "hidden"),
    [
        (dt.datetime(2026, 12, 2, 10, 0), "+44 1324 503650", "+44 1786 470500"),  # Wednesday morning
        (dt.datetime(2026, 12, 5, 21, 40), "+44 1786 470500", "+44 1324 503650"),  # Saturday night
        (dt.datetime(2026, 11, 30, 10, 0), "+44 1786 470500", "+44 1324 503650"),  # St Andrew's Day
    ],
)
@pytest.mark.parametrize("ticks", [(), ("Assault",), ("Poverty",)])
async def test_each_outcome_shows_the_route_for_the_time(
    now: dt.datetime, shown: str, hidden: str, ticks: tuple[str, ...]
) -> None:
    async with running_bot(now=now) as bot:
        await bot.walk_to_outcome(CHAT, ticks=ticks)
        outcome = bot.last_text(CHAT)
        if ticks:  # levels that name social work
            assert shown in outcome and hidden not in outcome
        assert ("out of hours" in outcome) == (now.weekday() >= 5 or now.day == 30)
