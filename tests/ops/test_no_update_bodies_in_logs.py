"""No update or response body in any log, whatever the library and whatever LOG_LEVEL says (issue 12, §3).

A Bot API server (a truncating proxy, a self-hosted server) answers getUpdates with a body PTB
cannot use: PTB logs it whole (``telegram.request`` at ERROR, ``telegram.Bot`` at CRITICAL, and
every call's parameters and result at DEBUG). The filter installed at start-up must keep all of
it out, while still saying that something went wrong.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from telegram.error import TelegramError
from telegram.request import RequestData

from bot import logs
from bot.telegram.app import build_application
from testkit.botapi import BOT, FakeRequest, FakeTelegram
from testkit.telegram_harness import TOKEN, make_service, settings

NAME, SURNAME, USERNAME = "Morag", "Finlayson", "morag_fin_77"
ADDRESS = "14 Glebe Street, Falkirk FK1 1HX"
CHAT_ID, USER_ID = 918273645, 918273646
SECRETS = [NAME, SURNAME, USERNAME, "Glebe Street", "FK1 1HX", str(CHAT_ID), str(USER_ID)]
SECRETS.append(TOKEN.split(":")[1])


def update(date: float) -> dict[str, Any]:
    person = {"id": USER_ID, "is_bot": False, "first_name": NAME, "last_name": SURNAME, "username": USERNAME}
    return {
        "update_id": 4242,
        "message": {
            "message_id": 7,
            "date": date,
            "chat": {"id": CHAT_ID, "type": "private", "first_name": NAME, "username": USERNAME},
            "from": person,
            "text": f"She lives at {ADDRESS}, her name is {NAME} {SURNAME}",
        },
    }


class BrokenReplies(FakeRequest):
    """getUpdates answers come from a list of raw bodies, as a faulty proxy would send them."""

    def __init__(self, api: FakeTelegram, bodies: list[bytes]) -> None:
        super().__init__(api)
        self.bodies = bodies

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        if url.endswith("/getUpdates") and self.bodies:
            return 200, self.bodies.pop(0)
        return await super().do_request(url, method, request_data, *args, **kwargs)


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """A root handler like the one start-up makes; loggers' levels restored afterwards."""
    root = logging.getLogger()
    names = ["", "telegram", "telegram.ext", "httpx", *logs.OWN_LOGGERS]
    levels = {n: logging.getLogger(n).level for n in names}
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter(logs.FORMAT))
    root.addHandler(handler)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        for n, level in levels.items():
            logging.getLogger(n).setLevel(level)


@pytest.mark.parametrize("level", ["DEBUG", "INFO", "WARNING", "ERROR"])
async def test_a_truncated_or_unparsable_get_updates_reply_leaves_no_body_in_the_log(
    level: str, captured: io.StringIO
) -> None:
    full = json.dumps({"ok": True, "result": [update(1_764_500_000)]}).encode()
    overflow = json.dumps({"ok": True, "result": [update(1e300)]}).encode()
    bodies = [full[: len(full) - 9], overflow]  # cut mid-way (a proxy), and a date no clock can hold
    app = build_application(settings(), make_service(), request=BrokenReplies(FakeTelegram(), bodies))
    logs.configure(level)  # what start-up does
    for name in ("", "telegram", "telegram.ext", "httpx"):  # and even every library at that level
        logging.getLogger(name).setLevel(level)
    async with app:
        for _ in range(2):
            with pytest.raises((TelegramError, ValueError, OverflowError)):
                await app.bot.get_updates()
    logged = captured.getvalue()
    for secret in SECRETS:
        assert secret not in logged, f"{secret!r} reached the log at LOG_LEVEL={level}"
    # Withheld, not lost: the failure itself is still in the log, with its logger.
    assert "telegram.request.BaseRequest: log message withheld" in logged
    assert "CRITICAL telegram.ext.ExtBot: log message withheld" in logged
    assert BOT["username"] not in logged  # getMe's answer (at DEBUG) is a body too


def test_our_own_lines_and_ordinary_library_lines_pass_unchanged() -> None:
    records = [
        "duplicate update ignored: update_id=4242",
        "unhandled BadRequest for update_id=12",
        "store unavailable: update_id=3",
        "Network error: httpx.ConnectError: All connection attempts failed",
        "purged 3 expired checks",
    ]
    no_bodies = logs.NoBodies()
    for text in records:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, text, None, None)
        assert no_bodies.filter(record) and record.getMessage() == text


def test_start_up_puts_the_filter_on_every_root_handler() -> None:
    root = logging.getLogger()
    extra = logging.StreamHandler(io.StringIO())
    root.addHandler(extra)
    try:
        logs.configure("INFO")
        assert root.handlers and all(
            any(isinstance(f, logs.NoBodies) for f in h.filters) for h in root.handlers
        )
    finally:
        root.removeHandler(extra)
        logging.getLogger("bot").setLevel(logging.NOTSET)
