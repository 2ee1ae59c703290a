"""Load: many practitioners running complete checks at once against the bot as a real process.

The Bot API double is served over HTTP on 127.0.0.1 (real sockets); the bot runs as
``python -m bot telegram`` in polling mode, paced by PTB's own 30-messages-a-second limiter, as in
production. Each practitioner follows random answers one screen at a time (waiting for each
screen, as a person would); every check must end at the outcome the pure flow gives for those
answers (the whole outcome message is compared), once, in the right chat, within the time bound.

With PostgreSQL, two bot processes share the database: the fake server serves each process its
own token and update queue and alternates every practitioner's updates between them, so each step
of a check is loaded by one process from what the other saved.

Short version: 10 practitioners (``make test``); ``make soak``: 200.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import secrets
import time
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

import pytest

from bot import wiring
from bot.render import to_html_parts
from bot.telegram import callbacks
from flows.contacts import load_directory
from flows.screens import Screens, parse_action
from storage.base import chat_key
from testkit.botapi import BOT_ID, Call, handled, message, press, serving
from testkit.db_fixtures import Database
from testkit.deploy import filled_contacts
from testkit.helpers import TOKEN, bot_env, bot_processes
from testkit.memory_store import MemoryStore
from testkit.soak import Plan, Telegram, action_for, expected, flow, level_of, random_plan, scale

pytestmark = pytest.mark.slow
SECOND_TOKEN = "987654321:" + "B" * 35


class SharedTelegram(Telegram):
    """One Bot API double behind several tokens: one update queue per token (per bot process)."""

    def __init__(self) -> None:
        super().__init__()
        self.queues: dict[str, deque[dict[str, Any]]] = defaultdict(deque)

    def has_updates(self, token: str) -> bool:
        return bool(self.queues[token])

    def push(self, raw: dict[str, Any], token: str | None = None) -> None:
        assert token is not None, "which bot process is this update for?"
        self.queues[token].append(raw)
        self.changed()

    def handle_for(self, token: str, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method != "getUpdates":
            return self.handle(method, params)
        self.calls.append(Call(method, params))
        queue = self.queues[token]
        offset = int(params.get("offset", 0) or 0)
        while queue and queue[0]["update_id"] < offset:
            queue.popleft()
        return 200, {"ok": True, "result": list(queue)[:100]}


class Practitioner:
    """Follows a plan one screen at a time, alternating its updates between the bot processes."""

    def __init__(self, api: SharedTelegram, chat: int, plan: Plan, tokens: list[str], secret: bytes) -> None:
        self.api, self.chat, self.plan, self.tokens = api, chat, plan, tokens
        self.key = chat_key(secret, BOT_ID, chat)
        self.secret = secret
        self.sent = 0
        self.mirror = flow().new()  # where this practitioner believes the check is

    async def step(self, raw: dict[str, Any], timeout: float, *, outcome: bool = False) -> None:
        """Send an update and wait until the bot has finished with it (the whole next screen)."""
        n = len(self.api.calls)
        self.api.push(raw, self.tokens[self.sent % len(self.tokens)])
        self.sent += 1
        await self.api.until(lambda: handled(self.api, raw, n, outcome=outcome), timeout, f"chat {self.chat}")

    def button(self, action: str) -> tuple[int, str]:
        for mid, _, data in reversed(self.api.buttons(self.chat)):
            pressed = callbacks.decode(self.secret, self.key, data)
            if pressed is not None and pressed.check_id and pressed.action == action:
                return mid, data
        raise AssertionError(f"no button for {action} on screen")

    async def run(self, timeout: float) -> None:
        await self.step(message(self.api, self.chat, "/check"), timeout)
        f = flow()
        f.fire(self.mirror, "start")
        if self.chat % 5 == 0:  # some type details by mistake: deleted, never kept
            await self.step(message(self.api, self.chat, "Her name is Jane Smith"), timeout)
        for _ in range(80):
            action = action_for(self.plan, self.mirror)
            if action is None:
                return
            mid, data = self.button(action)
            parsed = parse_action(action)
            assert parsed is not None and parsed.is_event and f.fire(self.mirror, parsed.kind, parsed.arg)
            await self.step(press(self.chat, data, mid), timeout, outcome=self.mirror.state == "outcome")
            if self.mirror.state == "outcome":
                return
        raise AssertionError("no outcome within 80 presses")


def expected_outcomes(plan: Plan, contacts: Path, moments: list[dt.datetime]) -> set[str]:
    """The first part of the outcome message for ``plan``, rendered at each moment (the bot's clock
    is real time, and the route can change at a boundary between the start and the end)."""
    directory = load_directory(contacts)
    out = set()
    for moment in moments:
        svc = wiring.check_service(
            flow=flow(), store=MemoryStore(), directory=directory, clock=lambda m=moment: m
        )
        conv = expected(plan)
        screen = Screens(flow()).outcome(conv, svc.context(conv.answers.get("service") or None))
        out.add(to_html_parts(screen)[0])
    return out


async def run_load(tmp_path: Path, database_url: str, processes: int, practitioners: int) -> None:
    from zoneinfo import ZoneInfo

    london = ZoneInfo("Europe/London")
    api = SharedTelegram()
    secret = secrets.token_urlsafe(32)
    tokens = [TOKEN, SECOND_TOKEN][:processes]
    rng = random.Random(practitioners * 31 + processes)
    crowd = [
        Practitioner(api, 830000 + i, random_plan(rng), [*tokens[k:], *tokens[:k]], secret.encode())
        for i, k in ((i, i % processes) for i in range(practitioners))
    ]
    per_screen = scale(60, 240)  # the bots are paced at 30 messages a second, shared by everyone
    async with serving(api) as url:
        envs = {
            tmp_path / f"bot{n}.log": bot_env(
                tmp_path, url, DATABASE_URL=database_url, CHAT_KEY_SECRET=secret, TELEGRAM_BOT_TOKEN=token
            )
            for n, token in enumerate(tokens)
        }
        async with bot_processes(api, envs):
            started_at = dt.datetime.now(london)
            started = time.monotonic()
            results = await asyncio.gather(*(p.run(per_screen) for p in crowd), return_exceptions=True)
            took = time.monotonic() - started
            ended_at = dt.datetime.now(london)
    failures = [(p.chat, repr(r)) for p, r in zip(crowd, results, strict=True) if r is not None]
    assert not failures, f"{len(failures)} checks did not finish: {failures[:5]}"
    contacts = tmp_path / "contacts.yaml"
    # The outcome names the time ("Wednesday 10:04 — office hours"): every minute of the run.
    minutes = int((ended_at - started_at).total_seconds() // 60) + 2
    moments = [started_at + dt.timedelta(minutes=m) for m in range(minutes)]
    for p in crowd:
        sent = [
            str(c.params["text"])
            for c in api.delivered
            if c.method == "sendMessage" and int(c.params["chat_id"]) == p.chat
            and level_of(str(c.params["text"]))
        ]  # fmt: skip
        assert len(sent) == 1, f"chat {p.chat}: {len(sent)} outcomes"
        want = expected_outcomes(p.plan, contacts, moments)
        assert sent[0] in want, f"chat {p.chat}: wrong outcome"
        assert api.outcomes(p.chat) == [expected(p.plan).level]
    stray = {int(c.params["chat_id"]) for c in api.delivered if "chat_id" in c.params}
    assert stray <= {p.chat for p in crowd}, "a message went to a chat that sent nothing"
    print(
        f"load: {practitioners} practitioners, {processes} process(es), {len(api.delivered)} Bot API calls, "
        f"all outcomes right in {took:.1f} s"
    )
    logged = "".join((tmp_path / f"bot{n}.log").read_text(errors="replace") for n in range(processes))
    # PTB's Updater may log one error at shutdown (its last getUpdates finding the pool busy).
    errors = [ln for ln in logged.splitlines() if " ERROR " in ln and "telegram.ext.Updater" not in ln]
    assert not errors and "unhandled" not in logged and "handler failed" not in logged, errors[:3]
    assert "Jane Smith" not in logged and TOKEN.split(":")[1] not in logged
    assert not any(str(830000 + i) in logged for i in range(practitioners))


async def test_many_practitioners_at_once_against_one_bot_process_on_sqlite(tmp_path: Path) -> None:
    filled_contacts(tmp_path)
    await run_load(tmp_path, f"sqlite:///{tmp_path / 'bot.sqlite3'}", 1, scale(10, 200))


@pytest.mark.postgres
async def test_many_practitioners_at_once_against_two_bot_processes_sharing_postgres(
    tmp_path: Path,
    pg_database: Database,
) -> None:
    filled_contacts(tmp_path)
    await run_load(tmp_path, pg_database.url, 2, scale(10, 200))
