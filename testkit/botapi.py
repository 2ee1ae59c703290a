"""A Bot API double for tests, at the HTTP-request level.

:class:`FakeTelegram` answers Bot API methods the way Telegram does (message ids per chat, the
objects PTB expects) and records every call. It is reached either through
:class:`FakeRequest`, a real PTB ``BaseRequest`` subclass (PTB's whole request and parsing layer
runs; only the socket is replaced), or through :func:`serve`, a real HTTP server on 127.0.0.1
for tests that start the bot as a separate process. Faults can be injected per method.

Tests wait for what they expect to see with :meth:`FakeTelegram.until` (woken by every call and
every update pushed, with a deadline), never for a fixed time.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import tornado.web
from telegram.request import BaseRequest, RequestData

from testkit.helpers import listening

BOT_ID = 7000001
BOT = {"id": BOT_ID, "is_bot": True, "first_name": "CSE check", "username": "cse_check_bot"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]


@dataclass
class FakeTelegram:
    """The Bot API's behaviour, enough for this bot, with every call recorded."""

    calls: list[Call] = field(default_factory=list)
    faults: dict[str, deque[tuple[int, dict[str, Any]]]] = field(default_factory=lambda: defaultdict(deque))
    updates: deque[dict[str, Any]] = field(default_factory=deque)
    _next_id: dict[int, itertools.count[int]] = field(default_factory=dict)
    deleted: set[tuple[int, int]] = field(default_factory=set)
    messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    _waiters: list[asyncio.Future[None]] = field(default_factory=list)
    closed: bool = False

    # -- waiting for an event -------------------------------------------------------------------
    def changed(self) -> None:
        """Wake everyone waiting in :meth:`wait` (a call was made, an update pushed)."""
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self, predicate: Callable[[], object], timeout: float) -> bool:
        """Wait until ``predicate()`` holds, re-checking at every change; False after ``timeout`` s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0 or self.closed:
                return False
            waiter = loop.create_future()
            self._waiters.append(waiter)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, remaining)
        return True

    async def until(self, predicate: Callable[[], object], timeout: float, what: str = "the bot") -> None:
        """Wait until ``predicate()`` holds; fail saying ``what`` was awaited after ``timeout`` s."""
        assert await self.wait(predicate, timeout), f"timed out after {timeout:g} s waiting for {what}"

    def push(self, raw: dict[str, Any], token: str | None = None) -> None:
        """An update for the bot(s) polling this double (``token``: one bot, where there are several)."""
        self.updates.append(raw)
        self.changed()

    def message_id(self, chat_id: int) -> int:
        """Message ids are sequential per chat, shared by both sides, as in Telegram."""
        return next(self._next_id.setdefault(chat_id, itertools.count(1)))

    def fail(self, method: str, status: int, description: str, **extra: Any) -> None:
        """Make the next call of ``method`` fail like Telegram would."""
        self.faults[method].append(
            (status, {"ok": False, "error_code": status, "description": description, **extra})
        )

    def buttons(self, chat_id: int) -> list[tuple[int, str, str]]:
        """(message id, label, callback data) of every live button in a chat, newest last."""
        out = []
        for (cid, mid), msg in sorted(self.messages.items()):
            if cid != chat_id or (cid, mid) in self.deleted:
                continue
            for row in (msg.get("reply_markup") or {}).get("inline_keyboard", []):
                out += [(mid, b["text"], b["callback_data"]) for b in row if "callback_data" in b]
        return out

    def of(self, method: str) -> list[dict[str, Any]]:
        return [c.params for c in self.calls if c.method == method]

    def sent_texts(self) -> list[str]:
        return [str(p["text"]) for p in self.calls_params("sendMessage", "editMessageText")]

    def calls_params(self, *methods: str) -> list[dict[str, Any]]:
        return [c.params for c in self.calls if c.method in methods]

    def has_updates(self, token: str) -> bool:
        """Whether getUpdates from the bot with ``token`` would return anything."""
        return bool(self.updates)

    def handle_for(self, token: str, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """A call made with ``token``: one bot here (subclasses may serve several)."""
        return self.handle(method, params)

    def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.calls.append(Call(method, params))
        self.changed()
        if self.faults.get(method):
            return self.faults[method].popleft()
        now = int(time.time())
        if method == "getMe":
            return 200, {"ok": True, "result": BOT}
        if method in ("sendMessage", "editMessageText", "editMessageReplyMarkup"):
            chat_id = int(params["chat_id"])
            mid = int(params["message_id"]) if "message_id" in params else self.message_id(chat_id)
            msg: dict[str, Any] = {
                "message_id": mid,
                "date": now,
                "chat": {"id": chat_id, "type": "private"},
                "from": BOT,
                "text": params.get("text", "…"),
            }
            if "reply_markup" in params:
                markup = params["reply_markup"]
                msg["reply_markup"] = json.loads(markup) if isinstance(markup, str) else markup
            if method == "editMessageReplyMarkup":
                old = self.messages.get((chat_id, mid), msg)
                msg = {**old, "reply_markup": msg.get("reply_markup")}
            self.messages[(chat_id, mid)] = msg
            return 200, {"ok": True, "result": msg}
        if method == "deleteMessage":
            self.deleted.add((int(params["chat_id"]), int(params["message_id"])))
            return 200, {"ok": True, "result": True}
        if method == "deleteMessages":
            ids = params["message_ids"]
            ids = json.loads(ids) if isinstance(ids, str) else ids
            self.deleted.update((int(params["chat_id"]), int(i)) for i in ids)
            return 200, {"ok": True, "result": True}
        if method in ("answerCallbackQuery", "setMyCommands", "leaveChat", "setWebhook", "deleteWebhook"):
            return 200, {"ok": True, "result": True}
        if method == "getUpdates":
            offset = int(params.get("offset", 0) or 0)
            while self.updates and self.updates[0]["update_id"] < offset:
                self.updates.popleft()
            return 200, {"ok": True, "result": list(self.updates)[:100]}
        return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: unknown method {method}"}


class FakeRequest(BaseRequest):
    """PTB's request layer ending in :class:`FakeTelegram` instead of a socket."""

    def __init__(self, api: FakeTelegram) -> None:
        self.api = api

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float:
        return 5.0

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        if name == "getUpdates":  # a long poll, as Telegram's: answered when an update comes
            await self.api.wait(lambda: self.api.has_updates(""), long_poll(params))
        status, body = self.api.handle(name, params)
        return status, json.dumps(body).encode()


def long_poll(params: dict[str, Any]) -> float:
    """How long to hold a getUpdates call with nothing to give: the bot's timeout, at most 1 s
    here (so that a bot being stopped is not kept waiting)."""
    return min(float(params.get("timeout") or 0), 1.0)


# -- updates, as Telegram sends them ---------------------------------------------------------------
_update_ids = itertools.count(1000)


def user(uid: int) -> dict[str, Any]:
    return {"id": uid, "is_bot": False, "first_name": "Practitioner"}


def message(
    api: FakeTelegram,
    chat_id: int,
    text: str | None = None,
    *,
    chat_type: str = "private",
    update_id: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    chat = {"id": chat_id, "type": chat_type}
    if chat_type == "private":
        chat["first_name"] = "Practitioner"
    else:
        chat["title"] = "Staff room"
    msg: dict[str, Any] = {
        "message_id": api.message_id(chat_id),
        "date": int(time.time()),
        "chat": chat,
        "from": user(chat_id if chat_id > 0 else 42),
    }
    if text is not None:
        msg["text"] = text
        if text.startswith("/"):
            msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    msg.update(extra)
    key = "channel_post" if chat_type == "channel" else "message"
    if chat_type == "channel":
        msg.pop("from")
    return {"update_id": update_id or next(_update_ids), key: msg}


def press(
    chat_id: int, data: str, message_id: int, *, update_id: int | None = None, chat_type: str = "private"
) -> dict[str, Any]:
    return {
        "update_id": update_id or next(_update_ids),
        "callback_query": {
            "id": str(next(_update_ids)),
            "from": user(chat_id),
            "chat_instance": "ci",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": chat_type},
                "from": BOT,
                "text": "…",
            },
        },
    }


# -- what the bot does with an update, as seen from Telegram ---------------------------------------
SCREENS = ("sendMessage", "editMessageText")


def handled(api: FakeTelegram, raw: dict[str, Any], since: int, *, outcome: bool = False) -> bool:
    """Whether the bot has finished with update ``raw``, judged by the Bot API calls made since the
    call count was ``since``: in a group, it left; a command, its screen is shown (with buttons,
    which go on a screen's last message); typed text, deleted and answered with advice; a press,
    answered and the next screen shown, and for an ``outcome`` the old step's buttons removed."""
    calls = [(c.method, c.params) for c in api.calls[since:]]
    if "callback_query" in raw:
        query = raw["callback_query"]
        chat, mid = int(query["message"]["chat"]["id"]), int(query["message"]["message_id"])
        dropped = any(
            m == "editMessageReplyMarkup" and int(p["chat_id"]) == chat and int(p["message_id"]) == mid
            for m, p in calls
        )
        return (
            any(m == "answerCallbackQuery" and p["callback_query_id"] == query["id"] for m, p in calls)
            and _screen(calls, chat)
            and (dropped or not outcome)
        )
    msg = raw["message"]
    chat = int(msg["chat"]["id"])
    if msg["chat"]["type"] != "private":
        return any(m == "leaveChat" and int(p["chat_id"]) == chat for m, p in calls)
    if str(msg.get("text", "")).startswith("/"):
        return _screen(calls, chat)
    advised = any(m == "sendMessage" and int(p["chat_id"]) == chat for m, p in calls)
    return advised and (chat, int(msg["message_id"])) in api.deleted


def _screen(calls: list[tuple[str, dict[str, Any]]], chat: int) -> bool:
    return any(m in SCREENS and int(p["chat_id"]) == chat and "reply_markup" in p for m, p in calls)


# -- the same double as a real HTTP server on 127.0.0.1, for the bot as a separate process ---------
@contextlib.asynccontextmanager
async def serving(api: FakeTelegram) -> AsyncIterator[str]:
    """Serve ``api`` over HTTP on 127.0.0.1; yield the base URL for ``TELEGRAM_API_BASE_URL``."""

    class Handler(tornado.web.RequestHandler):
        async def post(self, token: str, method: str) -> None:
            params: dict[str, Any] = {}
            for name, values in self.request.body_arguments.items():
                raw = values[0].decode()
                try:
                    params[name] = json.loads(raw) if raw[:1] in "[{" else raw
                except ValueError:
                    params[name] = raw
            if method == "getUpdates":  # a long poll: answered as soon as an update comes
                await api.wait(lambda: api.has_updates(token), long_poll(params))
            status, body = api.handle_for(token, method, params)
            self.set_status(status)
            self.set_header("Content-Type", "application/json")
            self.write(json.dumps(body))

        def check_xsrf_cookie(self) -> None:
            return None

    async with listening(tornado.web.Application([(r"/bot([^/]+)/(\w+)", Handler)])) as url:
        try:
            yield url
        finally:
            api.closed = True  # a long poll still held is answered now
            api.changed()
