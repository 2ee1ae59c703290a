"""The bot as a real process in polling mode, against a Bot API server on 127.0.0.1 (real sockets):
what a new user would try first. Also the webhook's secret check over real HTTP."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import tornado.httpserver

from bot.telegram.handlers import ALLOWED_UPDATES
from bot.telegram.webhook import SECRET_HEADER, make_web_app
from tests.botapi import FakeTelegram, message, press, serve, stop
from tests.deploy import filled_contacts
from tests.telegram_harness import TOKEN, running_bot

ROOT = Path(__file__).resolve().parents[1]
CHAT = 4440001
pytestmark = pytest.mark.slow


async def wait_for(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting for the bot"
        await asyncio.sleep(0.05)


def bot_env(tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{port}",
        CHAT_KEY_SECRET=secrets.token_urlsafe(32),
        CONTACTS_FILE=str(filled_contacts(tmp_path)),
        BOT_MODE="polling",
        LOG_LEVEL="DEBUG",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


class Practitioner:
    """Taps buttons in the fake server's record, as the Telegram app would."""

    def __init__(self, api: FakeTelegram, chat_id: int) -> None:
        self.api = api
        self.chat_id = chat_id

    def push(self, raw: dict[str, Any]) -> None:
        self.api.updates.append(raw)

    async def say(self, text: str, **kw: Any) -> dict[str, Any]:
        raw = message(self.api, self.chat_id, text, **kw)
        n = len(self.api.calls)
        self.push(raw)
        await wait_for(lambda: any(c.method in ("sendMessage", "leaveChat") for c in self.api.calls[n:]))
        return raw

    async def tap(self, label: str) -> None:
        live = self.api.buttons(self.chat_id)
        exact = [(m, d) for m, t, d in live if t == label] or [(m, d) for m, t, d in live if label in t]
        assert exact, f"no button {label!r}"
        mid, data = exact[-1]
        n = len(self.api.of("answerCallbackQuery"))
        self.push(press(self.chat_id, data, mid))
        await wait_for(lambda: len(self.api.of("answerCallbackQuery")) > n)
        await asyncio.sleep(0.05)  # let the concurrent edit land

    def last_text(self) -> str:
        return str(self.api.calls_params("sendMessage", "editMessageText")[-1]["text"])


async def start_bot(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    out = log.open("wb")
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "telegram",
        cwd=env.get("CSE_CWD", str(ROOT)),
        env=env,
        stdout=out,
        stderr=out,
    )


async def test_a_new_user_completes_a_check_against_a_local_bot_api_server(tmp_path: Path) -> None:
    api = FakeTelegram()
    server, port = await serve(api)
    env = bot_env(tmp_path, port, DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}")
    log = tmp_path / "bot.log"
    proc = await start_bot(env, log)
    try:
        await wait_for(lambda: api.of("setMyCommands"), timeout=30)
        you = Practitioner(api, CHAT)
        await you.say("/start")
        assert "never replaces your professional judgement" in you.last_text()
        await you.tap("▶ Start the check")
        for label in ("No", "13 to 15", "Education (school or nursery)", "Controlling adult in their life"):
            await you.tap(label)
        typed = await you.say("Her name is Jane Smith")
        assert (CHAT, typed["message"]["message_id"]) in api.deleted
        for _ in range(6):
            await you.tap("Done ✔")
        outcome = you.last_text()
        assert "Share this concern today" in outcome and "999" in outcome
        assert "School Child Protection Coordinator" in outcome
        await you.say("/check", chat_type="group")
        await wait_for(lambda: bool(api.of("leaveChat")))  # after its one message to the group
        assert api.of("getUpdates")[0]["allowed_updates"] == ALLOWED_UPDATES, "handled types only"
    finally:
        await stop(proc)
        server.stop()
    logged = log.read_text(errors="replace")
    assert "Jane Smith" not in logged and TOKEN.split(":")[1] not in logged and str(CHAT) not in logged


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("header", "status"),
    [("right", 200), ("wrong", 403), (None, 403), ("right-but-longer", 403)],
)
async def test_webhook_checks_the_secret_before_processing(header: str | None, status: int) -> None:
    secret = "right"
    async with running_bot() as bot:
        port = free_port()
        server = tornado.httpserver.HTTPServer(make_web_app(bot.app, path="/hook", secret=secret.encode()))
        server.listen(port, address="127.0.0.1")
        try:
            headers = {SECRET_HEADER: header} if header else {}
            body = json.dumps(message(bot.api, CHAT, "/start"))
            async with httpx.AsyncClient() as client:
                resp = await client.post(f"http://127.0.0.1:{port}/hook", content=body, headers=headers)
                health = await client.get(f"http://127.0.0.1:{port}/healthz")
                bad = await client.post(
                    f"http://127.0.0.1:{port}/hook", content=b"{not json", headers={SECRET_HEADER: secret}
                )
        finally:
            server.stop()
        assert resp.status_code == status
        assert bot.app.update_queue.qsize() == (1 if status == 200 else 0)
        assert health.status_code in (200, 503)
        assert bad.status_code == 400


async def test_a_check_survives_kill_9_and_continues_at_the_same_step(tmp_path: Path) -> None:
    api = FakeTelegram()
    server, port = await serve(api)
    env = bot_env(tmp_path, port, DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}")
    proc = await start_bot(env, tmp_path / "first.log")
    you = Practitioner(api, CHAT)
    try:
        await wait_for(lambda: api.of("setMyCommands"), timeout=30)
        await you.say("/check")
        for label in ("No", "16 or 17", "Health (NHS)", "Assault, seen or suspected"):
            await you.tap(label)
        assert "✅ Assault, seen or suspected" in [t for _, t, _ in api.buttons(CHAT)]
        proc.kill()  # SIGKILL: no shutdown code runs
        await proc.wait()
        api.updates.clear()
        proc = await start_bot(env, tmp_path / "second.log")
        await wait_for(lambda: len(api.of("setMyCommands")) == 2, timeout=30)
        await you.tap("Done ✔")
        assert "Serious signs (2 of 2)" in you.last_text(), "the same check, one step on"
        for _ in range(5):
            await you.tap("Done ✔")
        assert "Share this concern today" in you.last_text()
    finally:
        await stop(proc)
        server.stop()
