"""The bot as a real process in polling mode, against a Bot API server on 127.0.0.1 (real sockets):
what a new user would try first. Also the webhook's secret check over real HTTP."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.telegram.handlers import ALLOWED_UPDATES
from bot.telegram.webhook import SECRET_HEADER, make_web_app
from testkit.botapi import SCREENS, FakeTelegram, handled, message, press, serving
from testkit.helpers import (
    TOKEN,
    bot_env,
    bot_processes,
    find_button,
    listening,
    start_bot,
    stop_bot,
    wait_started,
)
from testkit.telegram_harness import running_bot

CHAT = 4440001
REPLY = 20.0  # seconds a bot process may take to finish with one update on a busy machine


class Practitioner:
    """Sends messages and taps buttons through the Bot API double, as the Telegram app would, and
    waits until the bot has finished with each (:func:`testkit.botapi.handled`), never a fixed time."""

    def __init__(self, api: FakeTelegram, chat_id: int) -> None:
        self.api = api
        self.chat_id = chat_id

    async def send(self, raw: dict[str, Any], what: str, *, outcome: bool = False) -> None:
        n = len(self.api.calls)
        self.api.push(raw)
        await self.api.until(lambda: handled(self.api, raw, n, outcome=outcome), REPLY, what)

    async def say(self, text: str, **kw: Any) -> dict[str, Any]:
        raw = message(self.api, self.chat_id, text, **kw)
        await self.send(raw, f"the bot to deal with {text!r}")
        return raw

    async def tap(self, label: str, *, outcome: bool = False) -> None:
        mid, data = find_button(self.api.buttons(self.chat_id), label)
        await self.send(press(self.chat_id, data, mid), f"the bot to deal with {label!r}", outcome=outcome)

    def last_text(self) -> str:
        return str(self.api.calls_params(*SCREENS)[-1]["text"])


@pytest.mark.slow
async def test_a_new_user_completes_a_check_against_a_local_bot_api_server(tmp_path: Path) -> None:
    api = FakeTelegram()
    log = tmp_path / "bot.log"
    async with serving(api) as url:
        env = bot_env(tmp_path, url, DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}")
        async with bot_processes(api, {log: env}):
            you = Practitioner(api, CHAT)
            await you.say("/start")
            assert "never replaces your professional judgement" in you.last_text()
            await you.tap("▶ Start the check")
            for label in ("No", "13 to 15", "Education (school or nursery)", "Controlling adult"):
                await you.tap(label)
            typed = await you.say("Her name is Jane Smith")
            assert (CHAT, typed["message"]["message_id"]) in api.deleted
            for n in range(6):
                await you.tap("Done ✔", outcome=n == 5)
            outcome = you.last_text()
            assert "Share this concern today" in outcome and "999" in outcome
            assert "School Child Protection Coordinator" in outcome
            left = len(api.of("leaveChat"))
            await you.say("/check", chat_type="group")
            assert len(api.of("leaveChat")) == left + 1
            assert api.of("getUpdates")[0]["allowed_updates"] == ALLOWED_UPDATES, "handled types only"
    logged = log.read_text(errors="replace")
    assert "Jane Smith" not in logged and TOKEN.split(":")[1] not in logged and str(CHAT) not in logged
    # Start-up says when the contacts were last checked: the oldest line, its date and role.
    assert re.search(r"contacts: the oldest check is content_owner, checked on \d{4}-\d\d-\d\d by \w", logged)


@pytest.mark.parametrize(
    ("header", "status"),
    [("right", 200), ("wrong", 403), (None, 403), ("right-but-longer", 403)],
)
async def test_webhook_checks_the_secret_before_processing(header: str | None, status: int) -> None:
    secret = "right"
    async with (
        running_bot() as bot,
        listening(make_web_app(bot.app, path="/hook", secret=secret.encode())) as base,
        httpx.AsyncClient() as client,
    ):
        headers = {SECRET_HEADER: header} if header else {}
        body = json.dumps(message(bot.api, CHAT, "/start"))
        resp = await client.post(f"{base}/hook", content=body, headers=headers)
        bad = await client.post(f"{base}/hook", content=b"{not json", headers={SECRET_HEADER: secret})
        starting = await client.get(f"{base}/healthz")
        assert resp.status_code == status
        assert bot.app.update_queue.qsize() == (1 if status == 200 else 0)
        assert bad.status_code == 400
        assert (starting.status_code, starting.text) == (503, "starting"), "not processing updates yet"
        await bot.app.start()
        try:
            running = await client.get(f"{base}/healthz")
        finally:
            await bot.app.stop()
        assert (running.status_code, running.text) == (200, "ok")


@pytest.mark.slow
async def test_a_check_survives_kill_9_and_continues_at_the_same_step(tmp_path: Path) -> None:
    api = FakeTelegram()
    you = Practitioner(api, CHAT)
    async with serving(api) as url:
        env = bot_env(tmp_path, url, DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}")
        proc = await start_bot(env, tmp_path / "first.log")
        try:
            await wait_started(api, [proc], commands=1)
            await you.say("/check")
            for label in ("No", "16 or 17", "Health (NHS)", "Controlling adult in their life"):
                await you.tap(label)
            assert "✅ Controlling adult in their life" in [t for _, t, _ in api.buttons(CHAT)]
            proc.kill()  # SIGKILL: no shutdown code runs
            await proc.wait()
            api.updates.clear()  # what the killed process had fetched is not fetched again
            proc = await start_bot(env, tmp_path / "second.log")
            await wait_started(api, [proc], commands=2)
            await you.tap("Done ✔")
            assert "Serious signs (2 of 2)" in you.last_text(), "the same check, one step on"
            for n in range(5):
                await you.tap("Done ✔", outcome=n == 4)
            assert "Share this concern today" in you.last_text()
        finally:
            await stop_bot(proc)
