"""LOG_FORMAT=json: one JSON object per line (time, level, logger, message, codes), with the same
guarantee as the text format: no chat id, user id, name or typed text."""

from __future__ import annotations

import io
import json
import logging

from bot.logs import JsonFormatter, NoBodies
from bot.telegram.guards import update_kind
from testkit.botapi import FakeTelegram, message, press
from testkit.telegram_harness import running_bot

CHAT = 7790001


def json_handler() -> tuple[logging.Handler, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(NoBodies())
    return handler, out


async def test_a_check_logged_as_json_lines_carries_codes_only() -> None:
    handler, out = json_handler()
    root, bot_logger = logging.getLogger(), logging.getLogger("bot")
    root.addHandler(handler)
    old = bot_logger.level
    bot_logger.setLevel(logging.DEBUG)
    try:
        async with running_bot() as bot:
            await bot.send(CHAT, "Her name is Morag Campbell, 12 High Street")
            await bot.walk_to_outcome(CHAT, ticks=("Controlling adult",))
    finally:
        root.removeHandler(handler)
        bot_logger.setLevel(old)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines, "something was logged"
    for line in lines:
        assert {"time", "level", "logger", "message"} <= set(line)
        assert set(line) <= {
            "time",
            "level",
            "logger",
            "message",
            "update_kind",
            "level_reached",
            "latency_ms",
            "exception",
        }
    finished = [line for line in lines if line["message"] == "check finished"]
    assert finished and finished[0]["level_reached"] == "urgent"
    kinds = {line.get("update_kind") for line in lines}
    assert {"typed", "command", "button"} <= kinds
    text = out.getvalue()
    for secret in ("Morag", "Campbell", "High Street", str(CHAT)):
        assert secret not in text


def test_a_body_is_withheld_in_json_too() -> None:
    handler, out = json_handler()
    logger = logging.getLogger("telegram.request")
    logger.addHandler(handler)
    try:
        logger.error('Invalid server response: {"update_id": 1, "message": {"text": "Morag"}}')
    finally:
        logger.removeHandler(handler)
    line = json.loads(out.getvalue())
    assert "Morag" not in out.getvalue() and "withheld" in line["message"]


def test_update_kinds() -> None:
    from telegram import Update

    api = FakeTelegram()
    assert update_kind(Update.de_json(message(api, CHAT, "/check"), None)) == "command"
    assert update_kind(Update.de_json(message(api, CHAT, "hello"), None)) == "typed"
    assert update_kind(Update.de_json(press(CHAT, "x", 1), None)) == "button"
