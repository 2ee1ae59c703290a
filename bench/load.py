"""The load: complete checks through the real Application, and the same updates through the floor.

Each conversation is its own chat id and runs one update at a time, as a practitioner taps; all
conversations run at once, and PTB's own update processor (``concurrent_updates``, 32 in
production) decides how many updates are processed together. The scripts mix the four outcome
levels, ages and services, and lookups in the middle of the check (a command such as
``/indicators``, or the emergency button on a step), each followed by "Back to the check".

Every update is timed from when PTB's update processor lets it run until its handlers finish, and
every Bot API call it makes is recorded (:mod:`bench.double`). The raw updates are kept per
conversation so the floor can be fed exactly the same ones, in the same order and concurrency.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiolimiter import AsyncLimiter
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import AIORateLimiter, Application, ContextTypes, Defaults, TypeHandler

from bench.double import CURRENT, BenchTelegram, CallSpan, TimedRequest, UpdateLog, stamp_tasks
from bot.config import Settings
from bot.service import CheckService
from bot.telegram.app import build_application
from testkit.botapi import message, press

TOKEN = "123456789:" + "A" * 35
BASE_URL = "http://127.0.0.1:9"
CONCURRENCY = 32  # what bot.telegram.app.build_application uses in production
FLOOR_TEXT = "Thank you."
MAX_STEPS = 20  # a check that has not ended after this many "Done" taps has gone wrong

AnyApp = Application[Any, Any, Any, Any, Any, Any]

# Button labels, as testkit/telegram_harness.py drives the check.
DANGER_YES, DANGER_NO, CONTINUE = "🚨 Yes, in danger now", "No", "Continue the check"
DONE, BACK_TO_CHECK, EMERGENCY_BUTTON = "Done", "Back to the check", "🚨 Emergency"
AGES = ("13 to 15", "16 or 17", "Under 13")
SERVICES = ("Education", "Health", "Social Work", "Police", "Voluntary")
# (level, danger answer, items to tick). Under 13 never lowers urgent or emergency, so those
# scripts may use any age; the two lower levels use 13 to 17 only (under 13 is at least a concern).
LEVELS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("emergency", DANGER_YES, ()),
    ("urgent", DANGER_NO, ("Told someone",)),
    ("concern", DANGER_NO, ("Poverty",)),
    ("no_current_indicators", DANGER_NO, ()),
)
LOOKUP_COMMANDS = ("/indicators", "/contacts", "/vulnerabilities", "/online", "/whatis")


@dataclass(frozen=True)
class Script:
    """One practitioner's check: the answers to give and where to open a lookup."""

    chat_id: int
    level: str
    danger: str
    age: str
    service: str
    ticks: tuple[str, ...]
    lookup: str | None  # a command, EMERGENCY_BUTTON, or None
    lookup_after: int  # open the lookup after this many taps into the check


def scripts(count: int, first_chat: int) -> list[Script]:
    """``count`` checks, cycling through levels, ages, services and lookups."""
    out = []
    for i in range(count):
        level, danger, ticks = LEVELS[i % len(LEVELS)]
        ages = AGES if level in ("emergency", "urgent") else AGES[:2]
        lookup: str | None = None
        if i % 3 == 1:
            lookup = LOOKUP_COMMANDS[(i // 3) % len(LOOKUP_COMMANDS)]
        elif i % 3 == 2:
            lookup = EMERGENCY_BUTTON
        out.append(
            Script(
                chat_id=first_chat + i,
                level=level,
                danger=danger,
                age=ages[(i // 4) % len(ages)],
                service=SERVICES[(i // 7) % len(SERVICES)],
                ticks=ticks,
                lookup=lookup,
                lookup_after=1 + (i // 3) % 3,
            )
        )
    return out


class UpdateIds:
    """Update ids unique to this run (a database may keep earlier runs' ids for 48 hours)."""

    def __init__(self) -> None:
        self._next = time.time_ns() // 1000

    def __call__(self) -> int:
        self._next += 1
        return self._next


@dataclass
class Load:
    """What a run produced: per-update logs, the raw updates per conversation, and the outcomes."""

    logs: list[UpdateLog] = field(default_factory=list)
    updates: dict[int, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)
    reached: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0


def lift_rate_limit(app: AnyApp) -> None:
    """Keep the AIORateLimiter's code path but lift its 30 messages/s cap for a load test."""
    limiter = app.bot.rate_limiter
    if isinstance(limiter, AIORateLimiter):
        limiter._base_limiter = AsyncLimiter(max_rate=10**9, time_period=1)  # PTB has no public setter


async def process(app: AnyApp, raw: dict[str, Any], kind: str, logs: list[UpdateLog]) -> UpdateLog:
    """One update through PTB's update processor (its concurrency limit), timed and recorded."""
    update = Update.de_json(raw, app.bot)
    log = UpdateLog(kind, update_id=int(raw["update_id"]))
    token = CURRENT.set(log)

    async def timed() -> None:
        started = time.perf_counter()
        try:
            await app.process_update(update)
        finally:
            log.seconds = time.perf_counter() - started

    try:
        await app.update_processor.process_update(update, timed())
    finally:
        CURRENT.reset(token)
    logs.append(log)
    return log


class Practitioner:
    """Runs one :class:`Script` against the bot, by button label, recording every update."""

    def __init__(self, app: AnyApp, api: BenchTelegram, load: Load, ids: UpdateIds, titles: dict[str, str]):
        self.app, self.api, self.load, self.ids, self.titles = app, api, load, ids, titles

    async def _feed(self, chat_id: int, raw: dict[str, Any], kind: str) -> None:
        self.load.updates.setdefault(chat_id, []).append((kind, raw))
        await process(self.app, raw, kind, self.load.logs)

    async def say(self, chat_id: int, text: str) -> None:
        raw = message(self.api, chat_id, text, update_id=self.ids())
        await self._feed(chat_id, raw, "command" if text.startswith("/") else "typed")

    async def tap(self, chat_id: int, label: str) -> None:
        mid, data = self.api.button(chat_id, label)
        await self._feed(chat_id, press(chat_id, data, mid, update_id=self.ids()), "tap")

    def _ended(self, chat_id: int) -> str | None:
        return next((lvl for lvl, title in self.titles.items() if self.api.shows(chat_id, title)), None)

    async def run(self, s: Script) -> None:
        taps = 0

        async def step(label: str) -> None:
            nonlocal taps
            await self.tap(s.chat_id, label)
            taps += 1
            if s.lookup is not None and taps == s.lookup_after:
                if s.lookup == EMERGENCY_BUTTON:
                    await self.tap(s.chat_id, EMERGENCY_BUTTON)
                else:
                    await self.say(s.chat_id, s.lookup)
                await self.tap(s.chat_id, BACK_TO_CHECK)

        try:
            await self.say(s.chat_id, "/check")
            await step(s.danger)
            if s.danger != DANGER_NO:
                await step(CONTINUE)
            await step(s.age)
            await step(s.service)
            for _ in range(MAX_STEPS):
                labels = {t for _, t, _ in self.api.buttons(s.chat_id)}
                if DONE not in " ".join(labels):
                    # A follow-up question with no Done: the first option.
                    first = next(t for _, t, _ in self.api.buttons(s.chat_id))
                    await step(first)
                else:
                    for tick in s.ticks:
                        if any(tick in label for label in labels):
                            await step(tick)
                    await step(DONE)
                level = self._ended(s.chat_id)
                if level is not None:
                    self.load.reached[level] = self.load.reached.get(level, 0) + 1
                    if level != s.level:
                        self.load.failures.append(f"chat {s.chat_id}: expected {s.level}, reached {level}")
                    return
            self.load.failures.append(f"chat {s.chat_id}: no outcome after {MAX_STEPS} steps")
        except LookupError as err:
            self.load.failures.append(str(err))
        finally:
            self.api.forget_chat(s.chat_id)


async def timed_run(work: Callable[[], Awaitable[None]], load: Load) -> Load:
    """Run ``work`` and record its wall-clock and CPU time (all threads) on ``load``."""
    wall, cpu = time.perf_counter(), time.process_time()
    await work()
    load.seconds = time.perf_counter() - wall
    load.cpu_seconds = time.process_time() - cpu
    return load


def bot_settings(database_url: str, secret: str | None = None) -> Settings:
    """Settings for the bot under load: a throwaway token and secret, the given store."""
    values: dict[str, Any] = {
        "telegram_bot_token": TOKEN,
        "chat_key_secret": secret or secrets.token_urlsafe(32),
        "telegram_api_base_url": BASE_URL,
        "database_url": database_url,
    }
    return Settings(**values)


async def run_bot(
    service: CheckService,
    settings: Settings,
    plan: Sequence[Script],
    *,
    rtt: float = 0.0,
    at_once: int | None = None,
) -> Load:
    """Drive every script concurrently through the real Application and handlers.

    ``rtt``: seconds each Bot API call takes (0: answered at once, after one event-loop trip).
    ``at_once``: how many conversations may be open together (None: all of them).
    """
    api = BenchTelegram()
    request = TimedRequest(api, rtt, keep_params=rtt == 0)
    app = build_application(settings, service, request=request, concurrency=CONCURRENCY)
    lift_rate_limit(app)
    titles = {level: outcome.title for level, outcome in service.flow.content.outcomes.items()}
    load = Load()
    stamp_tasks(asyncio.get_running_loop())
    async with app:
        if app.post_init is not None:
            await app.post_init(app)
        try:
            who = Practitioner(app, api, load, UpdateIds(), titles)
            gate = asyncio.Semaphore(at_once or max(1, len(plan)))

            async def one(script: Script) -> None:
                async with gate:
                    await who.run(script)

            async def work() -> None:
                await asyncio.gather(*(one(s) for s in plan))

            await timed_run(work, load)
        finally:
            if app.post_shutdown is not None:
                await app.post_shutdown(app)
    return load


def bare_application(
    api: BenchTelegram,
    handler: Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]],
    *,
    rate_limiter: bool = False,
) -> AnyApp:
    """Bare PTB with the bot's settings (same double, Defaults and concurrency) and one handler;
    with ``rate_limiter``, also the bot's ``AIORateLimiter``, lifted as on the bot's side."""
    builder: Any = (  # Any: the builder's type parameters change with .rate_limiter()
        Application.builder()
        .token(TOKEN)
        .base_url(f"{BASE_URL}/bot")
        .defaults(Defaults(parse_mode=ParseMode.HTML, protect_content=True))
        .concurrent_updates(CONCURRENCY)
        .request(TimedRequest(api))
        .get_updates_request(TimedRequest(api))
    )
    if rate_limiter:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))
    app: AnyApp = builder.build()
    if rate_limiter:
        lift_rate_limit(app)
    app.add_handler(TypeHandler(Update, handler))
    return app


def floor_application(api: BenchTelegram) -> AnyApp:
    """The bare framework: same double and Defaults, one handler, one Bot API call per update."""

    async def answer(update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is not None and query.message is not None:
            await ctx.bot.edit_message_text(
                FLOOR_TEXT, chat_id=query.message.chat.id, message_id=query.message.message_id
            )
        elif update.effective_chat is not None:
            await ctx.bot.send_message(update.effective_chat.id, FLOOR_TEXT)

    return bare_application(api, answer)


def same_traffic_application(api: BenchTelegram, bot_calls: dict[int, list[CallSpan]]) -> AnyApp:
    """The bare framework making exactly the bot's Bot API calls for each update: the same methods,
    texts and keyboards (built as objects, as the bot builds them), made together as the bot made
    them. What remains between this floor and the bot is the bot's own work."""

    def markup(params: dict[str, Any]) -> InlineKeyboardMarkup | None:
        raw = params.get("reply_markup")
        if raw is None:
            return None
        rows = raw["inline_keyboard"] if isinstance(raw, dict) else json.loads(raw)["inline_keyboard"]
        return InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(b["text"], callback_data=b.get("callback_data")) for b in row]
                for row in rows
            ]
        )

    async def call(bot: Any, method: str, p: dict[str, Any]) -> None:
        if method == "answerCallbackQuery":
            await bot.answer_callback_query(p["callback_query_id"], text=p.get("text"))
        elif method == "editMessageText":
            await bot.edit_message_text(
                p["text"], chat_id=p["chat_id"], message_id=p["message_id"], reply_markup=markup(p)
            )
        elif method == "sendMessage":
            await bot.send_message(p["chat_id"], p["text"], reply_markup=markup(p))
        elif method == "editMessageReplyMarkup":
            await bot.edit_message_reply_markup(p["chat_id"], p["message_id"], reply_markup=markup(p))
        elif method == "deleteMessage":
            await bot.delete_message(p["chat_id"], p["message_id"])
        else:
            await bot.do_api_request(method, api_kwargs=p)

    async def replay(update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        calls = bot_calls.get(update.update_id, [])
        await asyncio.gather(*(call(ctx.bot, c.method, c.params or {}) for c in calls))

    # The same Application settings as the bot, its rate limiter (lifted) included (issue 14).
    return bare_application(api, replay, rate_limiter=True)


async def run_floor(
    updates: dict[int, list[tuple[str, dict[str, Any]]]], bot_logs: Sequence[UpdateLog] | None = None
) -> Load:
    """Feed the floor the same updates, each conversation in order, all conversations at once.

    With ``bot_logs`` (the bot's run, its call parameters kept) it is the same-traffic floor: each
    update makes the bot's calls; without, the plain floor: one call per update, no keyboard.
    """
    api = BenchTelegram()
    if bot_logs is None:
        app = floor_application(api)
    else:
        app = same_traffic_application(api, {log.update_id: log.calls for log in bot_logs})
    load = Load()
    stamp_tasks(asyncio.get_running_loop())

    async def conversation(chat_id: int, items: list[tuple[str, dict[str, Any]]]) -> None:
        for kind, raw in items:
            await process(app, raw, kind, load.logs)
        api.forget_chat(chat_id)

    async with app:

        async def work() -> None:
            await asyncio.gather(*(conversation(c, items) for c, items in updates.items()))

        await timed_run(work, load)
    return load
