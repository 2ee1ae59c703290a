"""Reliability: Bot API faults, the database going away, and webhook abuse, each with the promise
it must keep. (Fuzzed conversations: ``test_reliability_fuzz.py``; many practitioners against the
bot as real processes: ``test_reliability_load.py``; figures: ``docs/reliability.md``.)

Faults are injected below PTB's whole request layer: :class:`FaultyRequest` raises what httpx
would (a connection refused or timed out before the request left; a read timeout or dropped
connection after Telegram acted) and answers with Telegram's error statuses (429 with
``retry_after``, 500, 502) and descriptions ("message is not modified", "message to edit not
found", "message can't be deleted", "query is too old").
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import logging
import random
import sqlite3
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram import Update
from telegram.error import NetworkError, TimedOut
from telegram.request import RequestData

import bot.telegram.delivery as delivery
from bot.service import CheckService
from bot.telegram import callbacks
from bot.telegram.webhook import MAX_BODY, SECRET_HEADER, make_web_app
from storage.base import ConversationStore, Decision, Record, StoreUnavailable, chat_key
from storage.sql.schema import migrate
from storage.sql.store import SqlStore
from testkit.botapi import BOT_ID, Call, FakeRequest, message, press
from testkit.checked_store import ContentCheckedStore
from testkit.db_fixtures import Database
from testkit.helpers import listening, running
from testkit.memory_store import MemoryStore
from testkit.soak import Plan, Telegram, action_for, build, expected, flow, random_plan, scale

# PTB warns about RetryAfter.retry_after becoming a timedelta whenever a 429 is raised; not ours.
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")
FAULTS = ("429", "500", "502", "connect_timeout", "refused", "read_timeout", "dropped")
NOT_SENT = ("429", "500", "502", "connect_timeout", "refused")  # Telegram did not act
CHAT = 720001


class FaultyRequest(FakeRequest):
    """The request double, failing the next call(s) of a method the way the network does."""

    def __init__(self, api: Telegram, *, chaos: float = 0.0, seed: int = 0) -> None:
        super().__init__(api)
        self.queued: dict[str, deque[str]] = defaultdict(deque)
        self.chaos = chaos  # probability of a random fault on any call (not getUpdates)
        self.rng = random.Random(seed)
        self.injected: dict[str, int] = defaultdict(int)

    def fail(self, method: str, fault: str, times: int = 1) -> None:
        self.queued[method].extend([fault] * times)

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        fault = None
        if self.queued.get(name):
            fault = self.queued[name].popleft()
        elif self.chaos and name not in ("getUpdates", "getMe") and self.rng.random() < self.chaos:
            fault = self.rng.choice(FAULTS)
        if fault is None:
            return await super().do_request(url, method, request_data, *args, **kwargs)
        self.injected[fault] += 1
        self.api.calls.append(handlers_call(name, request_data, fault))
        if fault == "429":
            body = {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 0.05"}
            return 429, json.dumps({**body, "parameters": {"retry_after": 0.05}}).encode()
        if fault in ("500", "502"):
            text = "Internal Server Error" if fault == "500" else "Bad Gateway"
            return int(fault), json.dumps(
                {"ok": False, "error_code": int(fault), "description": text}
            ).encode()
        if fault == "connect_timeout":
            raise TimedOut("Timed out") from httpx.ConnectTimeout("connect")
        if fault == "refused":
            raise NetworkError("httpx.ConnectError: refused") from httpx.ConnectError("refused")
        await super().do_request(url, method, request_data, *args, **kwargs)  # Telegram acted...
        if fault == "read_timeout":  # ...and the answer never came back
            raise TimedOut("Timed out") from httpx.ReadTimeout("read")
        raise NetworkError("httpx.RemoteProtocolError: disconnected") from httpx.RemoteProtocolError(
            "dropped"
        )


def handlers_call(name: str, request_data: RequestData | None, fault: str) -> Call:
    params = dict(request_data.parameters) if request_data else {}
    return Call(f"{name}!{fault}", params)  # recorded as an attempt, never as a delivery


class Harness:
    """The real Application over a store and the (faulty) Bot API double, driven like practitioners."""

    def __init__(self, app: Any, api: Telegram, svc: CheckService, request: FaultyRequest, secret: bytes):
        self.app, self.api, self.svc, self.request, self.secret = app, api, svc, request, secret
        self.restarts = 0

    def key(self, chat: int) -> str:
        return chat_key(self.secret, BOT_ID, chat)

    async def feed(self, raw: dict[str, Any]) -> None:
        await asyncio.wait_for(self.app.process_update(Update.de_json(raw, self.app.bot)), 30)

    async def send(self, chat: int, text: str) -> None:
        await self.feed(message(self.api, chat, text))

    async def record(self, chat: int) -> Record | None:
        decision = await self.svc.store.transact(
            key=self.key(chat), update_id=None, decide=lambda r: Decision(r, changed=False)
        )
        return decision.record

    def live(self, chat: int, record: Record) -> list[tuple[int, str, callbacks.Pressed]]:
        out = []
        for mid, _, data in self.api.buttons(chat):
            pressed = callbacks.decode(self.secret, self.key(chat), data)
            if pressed is not None and pressed.check_id == record.check_id:
                out.append((mid, data, pressed))
        return out

    def resume_buttons(self, chat: int) -> list[tuple[int, str]]:
        out = []
        for mid, _, data in self.api.buttons(chat):
            pressed = callbacks.decode(self.secret, self.key(chat), data)
            if pressed is not None and pressed.action == "resume":
                out.append((mid, data))
        return out

    async def press_next(self, chat: int, plan: Plan) -> bool:
        """Press what the plan says next on the newest live screen; False once the check is over.

        If no button shows the current step (an edit failed), press any button of this check:
        the bot redraws the current step. Only with no button of this check left at all does the
        practitioner type /check again (counted: that would be a lost conversation).
        """
        record = await self.record(chat)
        if record is None:
            return False
        action = action_for(plan, flow().load(record.data))
        live = self.live(chat, record)
        exact = [(m, d) for m, d, p in live if p.version == record.version and p.action == action]
        if exact:
            mid, data = exact[-1]
        elif live:
            steps = [b for b in live if not b[2].action.startswith(("look:", "x:"))] or live
            mid, data, _ = steps[-1]
        elif resume := self.resume_buttons(chat):  # the safety net's "Back to the check"
            mid, data = resume[-1]
        else:
            self.restarts += 1
            await self.send(chat, "/check")
            return True
        await self.feed(press(chat, data, mid))
        return True

    async def run_check(self, chat: int, plan: Plan, *, limit: int = 80) -> None:
        await self.send(chat, "/check")
        for _ in range(limit):
            if not await self.press_next(chat, plan):
                return
        raise AssertionError("the check did not end within the press limit")


@contextlib.asynccontextmanager
async def harness(
    store: ConversationStore | None = None, *, chaos: float = 0.0, seed: int = 0
) -> AsyncIterator[Harness]:
    api = Telegram()
    request = FaultyRequest(api, chaos=chaos, seed=seed)
    app, svc, conf = build(store or MemoryStore(), api, request=request)
    async with running(app):
        yield Harness(app, api, svc, request, conf.chat_key_bytes())


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same three attempts, with millisecond waits, so the fault tests stay fast."""
    monkeypatch.setattr(delivery, "RETRY_DELAYS", (0.005, 0.01))


def safety_nets(api: Telegram, chat: int) -> int:
    return sum("999" in t and "went wrong" in t or "cannot continue" in t for t in api.texts_to(chat))


PLAN = Plan("no", "continue", "16_17", "health", {"signs_1": ("assault",)}, {})
STEP_TEXT = "Which service do you work in"  # the step after age


# -- Bot API faults -------------------------------------------------------------------------------------
@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize(
    ("method", "when"),
    [
        ("editMessageText", "age"),  # the step edited in place
        ("sendMessage", "outcome"),  # the outcome, a new message
        ("answerCallbackQuery", "age"),  # the press's spinner
        ("sendMessage", "start"),  # the first step after /check
    ],
)
async def test_a_transient_bot_api_fault_is_retried_and_the_check_ends_once(
    fault: str, method: str, when: str, caplog: pytest.LogCaptureFixture
) -> None:
    """One failed call: retried where that is safe; the check ends at its outcome, exactly once."""
    async with harness() as h:
        if when == "start":
            h.request.fail(method, fault)
        await h.send(CHAT, "/check")
        while (rec := await h.record(CHAT)) is not None:
            state = flow().load(rec.data).state
            last = state == "vuln_2"
            if (when == "age" and state == "age") or (when == "outcome" and last):
                h.request.fail(method, fault)
            await h.press_next(CHAT, PLAN)
        outcomes = h.api.outcomes(CHAT)
        assert outcomes == [expected(PLAN).level], "the outcome arrives exactly once"
        assert h.restarts == 0, "the conversation was never lost"
        nets = safety_nets(h.api, CHAT)
        if method == "sendMessage" and when == "outcome" and fault in ("read_timeout", "dropped"):
            # The outcome may have arrived, so it is not sent again: the safety net follows instead.
            assert nets == 1
        else:
            assert nets == 0, "a transient fault is retried, not shown"
    assert "unhandled" not in caplog.text


@pytest.mark.parametrize("fault", ["500", "connect_timeout", "read_timeout", "dropped"])
async def test_a_persistent_step_fault_shows_999_and_the_next_tap_continues(fault: str) -> None:
    """Every attempt at the edit fails: the safety net is sent, and the check is not lost: the
    next tap (on the old screen) redraws the right step, and the check ends at its outcome."""
    async with harness() as h:
        await h.send(CHAT, "/check")
        await h.press_next(CHAT, PLAN)  # danger: no
        h.request.fail("editMessageText", fault, times=3)
        await h.press_next(CHAT, PLAN)  # age: committed, but the screen stays on "Age"
        assert safety_nets(h.api, CHAT) == 1
        assert "999" in h.api.texts_to(CHAT)[-1]
        record = await h.record(CHAT)
        assert record is not None and record.data["state"] == "service"
        if fault in NOT_SENT:
            await h.press_next(CHAT, PLAN)  # a button of the old screen: redraws the current step
            assert STEP_TEXT in h.api.texts_to(CHAT)[-1]
        else:  # the edit reached Telegram, only its answer was lost: the screen is already right
            assert STEP_TEXT in h.api.texts_to(CHAT)[-2]
        while await h.press_next(CHAT, PLAN):
            pass
        assert h.api.outcomes(CHAT) == [expected(PLAN).level] and h.restarts == 0


async def test_the_safety_net_leads_back_to_an_open_check() -> None:
    """The first step after /check fails on every attempt: the safety net comes with "Back to
    the check", which shows the step again, so the check goes on and is never started again
    (issue 21 §8: one check in about 400 had to be, in the chaos soak)."""
    async with harness() as h:
        h.request.fail("sendMessage", "500", times=3)
        await h.send(CHAT, "/check")
        assert safety_nets(h.api, CHAT) == 1
        assert h.resume_buttons(CHAT), "the net offers the way back"
        while await h.press_next(CHAT, PLAN):
            pass
        assert h.api.outcomes(CHAT) == [expected(PLAN).level] and h.restarts == 0


async def test_429_is_retried_by_the_rate_limiter_up_to_three_times_then_the_safety_net() -> None:
    async with harness() as h:
        h.request.fail("sendMessage", "429", times=3)
        started = time.monotonic()
        await h.send(CHAT, "/check")
        assert [c.method for c in h.api.calls if c.method.startswith("sendMessage")] == [
            "sendMessage!429",
            "sendMessage!429",
            "sendMessage!429",
            "sendMessage",
        ], "AIORateLimiter(max_retries=3): three retries after retry_after"
        assert time.monotonic() - started >= 3 * 0.05
        assert "Immediate danger" in h.api.texts_to(CHAT)[-1]
        h.request.fail("sendMessage", "429", times=4)
        await h.send(CHAT + 1, "/check")
        assert safety_nets(h.api, CHAT + 1) == 1, "a fourth 429: given up, the safety net instead"


async def test_429_with_an_integer_retry_after_waits_as_telegram_says() -> None:
    async with harness() as h:
        h.api.fail("sendMessage", 429, "Too Many Requests: retry after 1", parameters={"retry_after": 1})
        started = time.monotonic()
        await h.send(CHAT, "/help")
        assert time.monotonic() - started >= 1.0
        assert len(h.api.of("sendMessage")) == 2 and "/emergency" in h.api.texts_to(CHAT)[-1]


@pytest.mark.parametrize(
    ("method", "description", "then"),
    [
        ("editMessageText", "Bad Request: message is not modified", "same screen, nothing else"),
        ("editMessageText", "Bad Request: message to edit not found", "the step as a new message"),
        ("editMessageText", "Bad Request: message can't be edited", "the step as a new message"),
        ("answerCallbackQuery", "Bad Request: query is too old and response timeout expired", "step"),
    ],
)
async def test_telegram_refusals_of_an_edit_or_answer_keep_the_check_going(
    method: str, description: str, then: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with harness() as h:
        await h.send(CHAT, "/check")
        h.api.fail(method, 400, description)
        sent = len(h.api.of("sendMessage"))
        await h.press_next(CHAT, PLAN)
        if "not found" in description or "can't be edited" in description:
            assert len(h.api.of("sendMessage")) == sent + 1 and "Age" in h.api.texts_to(CHAT)[-1]
        while await h.press_next(CHAT, PLAN):
            pass
        assert h.api.outcomes(CHAT) == [expected(PLAN).level]
        assert safety_nets(h.api, CHAT) == 0 and h.restarts == 0
    assert "unhandled" not in caplog.text and "handler failed" not in caplog.text


async def test_messages_that_cannot_be_deleted_are_left_without_a_fuss() -> None:
    async with harness() as h:
        h.api.fail("deleteMessage", 400, "Bad Request: message can't be deleted")
        await h.send(CHAT, "Jane Smith, 14")
        assert h.api.texts_to(CHAT)[-1] == flow().content.texts.typed, "the advice, all the same"
        await h.run_check(CHAT, PLAN)
        h.api.fail("deleteMessages", 400, "Bad Request: message can't be deleted")
        mid, data = next((m, d) for m, t, d in h.api.buttons(CHAT) if "Clear" in t)
        await h.feed(press(CHAT, data, mid))
        assert safety_nets(h.api, CHAT) == 0


async def test_a_blocked_bot_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    async with harness() as h:
        for _ in range(3):
            h.api.fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
        await h.send(CHAT, "/check")
    assert "unhandled" not in caplog.text, "the error handler is for surprises, not a blocked bot"


async def test_random_bot_api_faults_on_every_call_never_lose_a_check_or_repeat_an_outcome() -> None:
    """Chaos: each Bot API call fails with probability 0.15 (any fault above), for many checks."""
    checks = scale(15, 400)
    rng = random.Random(7)
    async with harness(chaos=0.15, seed=11) as h:
        plans = {CHAT + i: random_plan(rng) for i in range(checks)}
        for chat, plan in plans.items():
            await h.run_check(chat, plan)
        lost, nets = 0, 0
        for chat, plan in plans.items():
            outcomes = h.api.outcomes(chat)
            assert len(outcomes) <= 1, "an outcome was shown twice"
            assert outcomes in ([expected(plan).level], []), "a wrong outcome"
            lost += not outcomes
            nets += safety_nets(h.api, chat)
        injected = sum(h.request.injected.values())
        print(f"chaos: {checks} checks, {injected} faults injected, {lost} outcomes lost, {nets} safety nets")
        assert h.restarts == 0, "a check had to be started again"
        assert lost <= max(1, checks // 50), "outcomes lost far more often than three failures in a row"


# -- storage faults -----------------------------------------------------------------------------------
def sql_store(url: str) -> SqlStore:
    migrate(url)
    return ContentCheckedStore(url=url, ttl=dt.timedelta(hours=24), validate=flow().load)


def unfinished(plan: Plan) -> Plan:
    """The plan, but going on past the 999 notice (so a few presses never finish the check)."""
    return dataclasses.replace(plan, alert="continue")


async def to_step(h: Harness, chat: int, plan: Plan, presses: int) -> None:
    await h.send(chat, "/check")
    for _ in range(presses):
        await h.press_next(chat, plan)


@pytest.mark.postgres
@pytest.mark.slow
async def test_postgres_stopped_mid_check_gives_the_safety_net_then_every_check_resumes(
    pg_database: Database,
) -> None:
    rng = random.Random(3)
    chats = {CHAT + i: unfinished(random_plan(rng)) for i in range(scale(4, 12))}
    store = sql_store(pg_database.url)
    async with harness(store) as h:
        for n, (chat, plan) in enumerate(chats.items()):
            await to_step(h, chat, plan, 1 + n % 4)
        for _cycle in range(scale(1, 4)):
            before = {chat: await h.record(chat) for chat in chats}
            await asyncio.to_thread(pg_database.stop)
            try:
                for chat, plan in chats.items():
                    await press_offline(h, chat, plan, before[chat])
                    assert "cannot continue right now" in h.api.texts_to(chat)[-1]
                    assert (
                        "999" in h.api.texts_to(chat)[-1] and "Child Protection" in h.api.texts_to(chat)[-1]
                    )
                await h.send(CHAT, "/emergency")
                assert "999" in h.api.texts_to(CHAT)[-1], "/emergency works with the database away"
            finally:
                await asyncio.to_thread(pg_database.start)
            for chat in chats:
                after = await h.record(chat)
                assert after == before[chat], "nothing changed or was corrupted while away"
            for chat, plan in chats.items():
                await h.press_next(chat, plan)
        for chat, plan in chats.items():
            while await h.press_next(chat, plan):
                pass
            assert h.api.outcomes(chat) == [expected(plan).level]
        assert h.restarts == 0
        counts = await store.outcome_counts(since=dt.date.min)
        assert sum(n for _, level, _, _, n in counts if level != "abandoned") == len(chats)


async def press_offline(h: Harness, chat: int, plan: Plan, record: Record | None) -> None:
    """Press what the plan says on the screen, knowing the record from before the store went away."""
    assert record is not None
    action = action_for(plan, flow().load(record.data))
    live = h.live(chat, record)
    mid, data = [(m, d) for m, d, p in live if p.version == record.version and p.action == action][-1]
    await h.feed(press(chat, data, mid))


@pytest.mark.postgres
@pytest.mark.slow
async def test_postgres_stopped_during_concurrent_presses_corrupts_nothing(
    pg_database: Database,
) -> None:
    """The server is stopped while presses are in flight: each press either counts or gets the
    safety net; afterwards every check continues from what was committed."""
    rng = random.Random(5)
    chats = {CHAT + i: unfinished(random_plan(rng)) for i in range(scale(8, 30))}
    store = sql_store(pg_database.url)
    async with harness(store) as h:
        for chat, plan in chats.items():
            await to_step(h, chat, plan, 2)
        presses = [h.press_next(chat, plan) for chat, plan in chats.items()]
        stopping = asyncio.create_task(asyncio.to_thread(pg_database.stop))
        results = await asyncio.gather(*presses, return_exceptions=True)
        await stopping
        await asyncio.to_thread(pg_database.start)
        assert all(r is True or isinstance(r, StoreUnavailable) for r in results), results
        for chat, plan in chats.items():
            while await h.press_next(chat, plan):
                pass
            assert h.api.outcomes(chat) == [expected(plan).level]
            record = await h.record(chat)
            assert record is None
        assert h.restarts == 0


async def test_sqlite_locked_by_another_connection_gives_the_safety_net_then_resumes(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    store = sql_store(f"sqlite:///{path}?timeout=0.2")
    plan = PLAN
    async with harness(store) as h:
        await to_step(h, CHAT, plan, 2)
        before = await h.record(CHAT)
        for _ in range(scale(2, 10)):
            blocker = sqlite3.connect(path, isolation_level=None)
            blocker.execute("BEGIN EXCLUSIVE")
            try:
                started = time.monotonic()
                await press_offline(h, CHAT, plan, before)
                assert "cannot continue right now" in h.api.texts_to(CHAT)[-1]
                assert time.monotonic() - started < 5, "the busy timeout from the URL applies"
                await h.send(CHAT, "/emergency")
                assert "999" in h.api.texts_to(CHAT)[-1]
            finally:
                blocker.execute("ROLLBACK")
                blocker.close()
            assert await h.record(CHAT) == before
        while await h.press_next(CHAT, plan):
            pass
        assert h.api.outcomes(CHAT) == [expected(plan).level] and h.restarts == 0
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


# -- webhook abuse ------------------------------------------------------------------------------------
SECRET = "webhook-secret-" + "x" * 20


@contextlib.asynccontextmanager
async def webhook(*, processing: bool = True) -> AsyncIterator[tuple[Harness, str]]:
    """The bot behind the webhook server, as serve_webhook has it; ``processing``: its update queue
    is consumed (the Application started), else updates stay queued where a test can count them."""
    async with harness() as h:
        web = make_web_app(h.app, path="/hook", secret=SECRET.encode())
        async with listening(web, max_body_size=MAX_BODY) as base:
            if processing:
                await h.app.start()
            try:
                yield h, base
            finally:
                if h.app.running:
                    await h.app.stop()


async def test_webhook_refuses_bad_requests_and_processes_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with webhook(processing=False) as (h, base), httpx.AsyncClient(timeout=10) as client:
        good = json.dumps(message(h.api, CHAT, "/check"))
        cases: list[tuple[dict[str, str], bytes, tuple[int, ...]]] = [
            ({}, good.encode(), (403,)),
            ({SECRET_HEADER: "wrong"}, good.encode(), (403,)),
            ({SECRET_HEADER: SECRET.upper()}, good.encode(), (403,)),
            ({SECRET_HEADER: SECRET + "x"}, good.encode(), (403,)),
            ({SECRET_HEADER: "x" * 8000}, good.encode(), (403, 431)),
        ]
        for junk in [b"{not json", b"", b"[]", b'"x"', b"5", b"null", b"{}", b'{"update_id": "x"}',
                     b'{"update_id": 1, "message": "x"}', b'{"update_id": 1, "message": {"x": 1}}',
                     b'{"update_id": 1, "callback_query": []}', b"\xff\xfe\x00", b"{" * 5000,
                     b"[" * 100_000, b'{"update_id": 1, "message": {"message_id": 1, "date": 1e300, '
                     b'"chat": {"id": 1, "type": "private"}, "text": "hi"}}']:  # fmt: skip
            cases.append(({SECRET_HEADER: SECRET}, junk, (400,)))
        for headers, body, statuses in cases:
            resp = await client.post(f"{base}/hook", content=body, headers=headers)
            assert resp.status_code in statuses, (body[:40], resp.status_code)
        assert (await client.get(f"{base}/hook")).status_code == 405
        # Bodies over the limit: refused before they are read (413/400, or the connection closed).
        for size in (MAX_BODY + 1, 4 * MAX_BODY):
            big = b'{"update_id": 1, "pad": "' + b"a" * size + b'"}'
            with contextlib.suppress(httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
                resp = await client.post(f"{base}/hook", content=big, headers={SECRET_HEADER: SECRET})
                assert resp.status_code in (400, 413)

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(40):
                yield b"a" * 16384

        with contextlib.suppress(httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
            resp = await client.post(f"{base}/hook", content=chunks(), headers={SECRET_HEADER: SECRET})
            assert resp.status_code in (400, 413)
        assert h.app.update_queue.qsize() == 0, "nothing refused was queued for processing"
        await h.app.start()
        health = await client.get(f"{base}/healthz")
        assert health.status_code == 200
        resp = await client.post(f"{base}/hook", content=good, headers={SECRET_HEADER: SECRET})
        assert resp.status_code == 200
        await h.api.until(lambda: bool(h.api.of("sendMessage")), 10, "the good update's reply")
    assert SECRET not in caplog.text and "Uncaught exception" not in caplog.text


async def test_a_flood_of_webhook_requests_is_absorbed(caplog: pytest.LogCaptureFixture) -> None:
    total = scale(200, 20000)
    chats = [CHAT + i for i in range(50)]
    async with webhook() as (h, base):
        limits = httpx.Limits(max_connections=50, max_keepalive_connections=50)
        gate = asyncio.Semaphore(50)
        expected_replies: dict[int, int] = defaultdict(int)
        statuses: dict[int, int] = defaultdict(int)

        async def one(i: int, client: httpx.AsyncClient) -> None:
            chat = chats[i % len(chats)]
            kind = i % 4
            if kind == 0:
                body, headers = b"{broken", {SECRET_HEADER: SECRET}
            elif kind == 1:
                body, headers = json.dumps(message(h.api, chat, "/emergency")).encode(), {SECRET_HEADER: "no"}
            else:
                text = "/emergency" if kind == 2 else "Jane Smith"
                body, headers = json.dumps(message(h.api, chat, text)).encode(), {SECRET_HEADER: SECRET}
                expected_replies[chat] += 1
            async with gate:
                resp = await client.post(f"{base}/hook", content=body, headers=headers)
            statuses[resp.status_code] += 1

        started = time.monotonic()
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:
            await asyncio.gather(*(one(i, client) for i in range(total)))
            took = time.monotonic() - started

            def replied() -> bool:
                return all(
                    sum(
                        1
                        for c in h.api.delivered
                        if c.method == "sendMessage" and c.params["chat_id"] == chat
                    )
                    >= n
                    for chat, n in expected_replies.items()
                )

            await h.api.until(replied, 60, "a reply to every accepted update")
            assert h.app.update_queue.qsize() == 0, "the queue drained: no stuck worker"
            assert (await client.get(f"{base}/healthz")).status_code == 200
            # Slow clients holding connections open do not block anyone else.
            idle = [
                await asyncio.open_connection("127.0.0.1", int(base.rsplit(":", 1)[1])) for _ in range(20)
            ]
            for _, writer in idle:
                writer.write(b"POST /hook HTTP/1.1\r\nHost: x\r\n")
            health = await asyncio.wait_for(client.get(f"{base}/healthz"), 5)
            assert health.status_code == 200
            for _, writer in idle:
                writer.close()
        print(f"webhook flood: {total} requests in {took:.1f} s, statuses {dict(statuses)}")
        assert statuses == {400: total // 4, 403: total // 4, 200: total // 2}
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]
