"""A Bot API double for tests, at the HTTP-request level.

:class:`FakeTelegram` answers Bot API methods the way Telegram does (message ids per chat, the
objects PTB expects) and records every call. It is reached either through
:class:`FakeRequest`, a real PTB ``BaseRequest`` subclass (PTB's whole request and parsing layer
runs; only the socket is replaced), or through :func:`serve`, a real HTTP server on 127.0.0.1
for tests that start the bot as a separate process. Faults can be injected per method.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from telegram.request import BaseRequest, RequestData

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
        status, body = self.api.handle(name, params)
        if name == "getUpdates" and not body.get("result"):
            await asyncio.sleep(0.01)
        return status, json.dumps(body).encode()


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


# -- the same double as a real HTTP server on 127.0.0.1, for the bot as a separate process ---------
async def serve(api: FakeTelegram) -> tuple[Any, int]:
    """Serve ``api`` over HTTP on 127.0.0.1 (a free port); return (server, port)."""
    import socket

    import tornado.httpserver
    import tornado.web

    class Handler(tornado.web.RequestHandler):
        async def post(self, token: str, method: str) -> None:
            params: dict[str, Any] = {}
            for name, values in self.request.body_arguments.items():
                raw = values[0].decode()
                try:
                    params[name] = json.loads(raw) if raw[:1] in "[{" else raw
                except ValueError:
                    params[name] = raw
            if method == "getUpdates" and not api.has_updates(token):
                await asyncio.sleep(0.05)  # a short long-poll, so an idle bot does not spin
            status, body = api.handle_for(token, method, params)
            self.set_status(status)
            self.set_header("Content-Type", "application/json")
            self.write(json.dumps(body))

        def check_xsrf_cookie(self) -> None:
            return None

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = tornado.httpserver.HTTPServer(tornado.web.Application([(r"/bot([^/]+)/(\w+)", Handler)]))
    server.listen(port, address="127.0.0.1")
    return server, port


async def stop(proc: asyncio.subprocess.Process) -> None:
    """Stop a bot process: SIGTERM, then SIGKILL if it has not gone within 15 s."""
    if proc.returncode is None:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()
            await proc.wait()
