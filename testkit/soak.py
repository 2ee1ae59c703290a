"""Shared pieces of the reliability tests (``tests/ops/test_reliability*.py``) and their scale knobs.

Every reliability test has a short version that runs in ``make test`` and a long one behind
``make soak``, which sets ``CSE_SOAK=1``: :func:`scale` (``testkit/sizes.py``) picks the count. Nothing here
opens a socket beyond 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
from dataclasses import dataclass
from html import escape
from typing import Any

from telegram.ext import AIORateLimiter

from bot import wiring
from bot.config import Settings
from bot.service import CheckService
from bot.telegram.app import build_application
from flows.contacts import Directory
from flows.machine import OUTCOME, Conversation, Flow
from flows.screens import parse_action
from storage.base import ConversationStore
from testkit.botapi import Call, FakeRequest, FakeTelegram
from testkit.shipped import example_directory, shipped_content
from testkit.sizes import SOAK as SOAK  # the reliability tests import their knobs from here too
from testkit.sizes import scale as scale
from testkit.telegram_harness import settings

NOW = dt.datetime(2026, 12, 2, 10, 0)  # a Wednesday morning: office-hours routes


def directory() -> Directory:
    return example_directory()


@functools.cache
def flow() -> Flow:
    """One flow for every test here (loading and validating the content takes a while)."""
    return Flow(shipped_content(), directory().services)


def service(store: ConversationStore) -> CheckService:
    return wiring.check_service(flow=flow(), store=store, directory=directory(), clock=lambda: NOW)


def outcome_titles() -> dict[str, list[str]]:
    """Level → the first lines its outcome message may start with (the child's and each
    variant's title, e.g. an adult's), as sent to Telegram."""
    return {
        level: [f"<b>{escape(t.title, quote=False)}</b>" for t in (o, *o.variants)]
        for level, o in flow().content.outcomes.items()
    }


def level_of(text: str) -> str | None:
    """The level of an outcome message, or None if ``text`` is not the start of one."""
    titles = outcome_titles().items()
    return next((lvl for lvl, heads in titles if any(text.startswith(h + "\n") for h in heads)), None)


def unpaced(app: Any) -> None:
    """Switch off the bot's own 30-messages-a-second pacing (the double has no flood limit).

    Used by in-process tests so that thousands of updates run in seconds; the 429 retries of
    PTB's AIORateLimiter stay on. The subprocess load tests keep the pacing.
    """
    limiter = app.bot.rate_limiter
    assert isinstance(limiter, AIORateLimiter)
    limiter._base_limiter = None


class Telegram(FakeTelegram):
    """The Bot API double, stricter where Telegram is: a deleted or never-sent message cannot be
    edited ("message to edit not found"), as the bot must then send the step anew."""

    def __init__(self) -> None:
        super().__init__()
        self.delivered: list[Call] = []  # calls Telegram acted on (status 200), in order

    def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method in ("editMessageText", "editMessageReplyMarkup") and "message_id" in params:
            where = (int(params["chat_id"]), int(params["message_id"]))
            if (where in self.deleted or where not in self.messages) and not self.faults.get(method):
                self.calls.append(Call(method, params))
                return 400, {"ok": False, "error_code": 400, "description": GONE}
        status, body = super().handle(method, params)
        if status == 200:
            self.delivered.append(Call(method, params))
        return status, body

    def outcomes(self, chat_id: int) -> list[str]:
        """Levels of the outcome messages Telegram delivered to a chat, in order."""
        found = []
        for c in self.delivered:
            if c.method == "sendMessage" and int(c.params["chat_id"]) == chat_id:
                level = level_of(str(c.params.get("text", "")))
                if level:
                    found.append(level)
        return found

    def texts_to(self, chat_id: int) -> list[str]:
        """Texts of every message sent or edited in a chat (delivered only), in order."""
        return [
            str(c.params.get("text", ""))
            for c in self.delivered
            if c.method in ("sendMessage", "editMessageText") and int(c.params.get("chat_id", 0)) == chat_id
        ]


GONE = "Bad Request: message to edit not found"


def build(
    store: ConversationStore, api: FakeTelegram, *, request: FakeRequest | None = None, **overrides: Any
) -> tuple[Any, CheckService, Settings]:
    """The real PTB Application over the Bot API double, with every handler, unpaced."""
    conf = settings(**overrides)
    svc = service(store)
    app = build_application(conf, svc, request=request or FakeRequest(api))
    unpaced(app)
    return app, svc, conf


# -- a practitioner's answers, and where they lead --------------------------------------------------
@dataclass(frozen=True)
class Plan:
    """What one practitioner will answer, step by step (codes, as the buttons carry them)."""

    danger: str
    alert: str  # on the 999 notice after "yes"/"not sure": continue or skip to the outcome
    age: str
    service: str
    ticks: dict[str, tuple[str, ...]]  # multi step → items to tick
    closers: dict[str, str]  # multi step → done | none | unsure


def random_plan(rng: random.Random) -> Plan:
    f = flow()
    multi = [s for s in f.steps if s.kind == "multi"]
    closers = {s.id: rng.choice(["done", "done", "done", "none", "unsure"]) for s in multi}
    ticks = {s.id: tuple(i for i in s.items if closers[s.id] != "none" and rng.random() < 0.2) for s in multi}
    return Plan(
        danger=rng.choice(["no", "no", "no", "yes", "unsure"]),
        alert=rng.choice(["continue", "continue", "skip"]),
        age=rng.choice([o.code for o in f.step("age").options]),
        service=rng.choice([code for code, _ in f.services]),
        ticks=ticks,
        closers=closers,
    )


def action_for(plan: Plan, conv: Conversation) -> str | None:
    """The button a practitioner following ``plan`` presses next, or None at the end."""
    f = flow()
    if conv.state not in {s.id for s in f.steps}:
        return None
    step = f.step(conv.state)
    if step.kind == "multi":
        ticked = set(conv.picked.get(step.id, []))
        asked = f.items(step, conv)  # an adult is never asked some items
        missing = [i for i in plan.ticks.get(step.id, ()) if i not in ticked and i in asked]
        if missing:
            return f"t:{missing[0]}"
        closer = plan.closers.get(step.id, "done")
        return "done" if closer == "done" else f"a:{closer}"
    answer = {"danger": plan.danger, "danger_alert": plan.alert, "age": plan.age, "service": plan.service}
    # A follow-up question (when an assault happened, could they be under 13...): its first option.
    return f"a:{answer.get(step.id, f.options(step)[0][0])}"


def expected(plan: Plan) -> Conversation:
    """Where ``plan`` leads through the pure flow: the conversation at its outcome."""
    f = flow()
    conv = f.new()
    f.fire(conv, "start")
    for _ in range(60):
        action = action_for(plan, conv)
        if action is None:
            break
        parsed = parse_action(action)
        assert parsed is not None and parsed.is_event and f.fire(conv, parsed.kind, parsed.arg), action
    assert conv.state == OUTCOME
    return conv
