"""One way through the house: the same answers give the same advice in Telegram, the terminal and
the web page (the level, the steps, whom to call, the emergency screen), and the same safety net
when the store is down.

Each channel is driven as a practitioner drives it: Telegram over the Bot API double, pressing the
buttons the bot sent (their callback data names the action); the terminal by typing the number
shown beside a choice; the web page by submitting its forms (a tick step's ticks with the button).
What each shows is compared with the one screen the service builds for it, as a reader sees it
(markup dropped, numbers in national form).
"""

from __future__ import annotations

import datetime as dt
import html
import io
import random
import re
from collections.abc import Iterator
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest
from starlette.testclient import TestClient

from bot import wiring
from bot.console import Console
from bot.service import CheckService, StoreUnavailable
from bot.web.routes import create_app
from bot.web.session import COOKIE, Sessions
from flows.machine import Conversation
from flows.schema import load_content
from flows.screens import Channel, Screen, parse_action
from storage.base import ConversationStore
from testkit.botapi import press
from testkit.memory_store import DownStore, MemoryStore
from testkit.shipped import example_directory, shipped_content
from testkit.soak import Plan, action_for, expected, random_plan
from testkit.telegram_harness import Bot, running_bot

NOW = dt.datetime(2026, 12, 2, 10, 0, tzinfo=ZoneInfo("Europe/London"))
SECRET = b"every-channel-test-secret-0123456789"
CHAT = 4242
RULE = "─" * 60
RANDOM = [random_plan(random.Random(seed)) for seed in (0, 1, 4)]  # concern, urgent, act now
# Besides answers drawn at random: danger now, and nothing ticked.
PLANS = [
    *RANDOM,
    replace(RANDOM[0], danger="yes", alert="skip"),
    replace(RANDOM[1], danger="no", ticks={}, closers=dict.fromkeys(RANDOM[1].closers, "none")),
]


def words(text: str) -> str:
    """What a reader sees, whatever the channel's markup: tags dropped, entities read, +44 numbers in
    their national form, and only letters and digits (emoji, spacing and punctuation are styling)."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    text = re.sub(r"\+44\s?", "0", text)
    return re.sub(r"\W+", "", text).lower()


def pieces(screen: Screen) -> Iterator[str]:
    """Everything a screen says: its title, each section's title and lines, each contact's name,
    number and detail."""
    yield screen.title
    for section in screen.sections:
        yield from [section.title] if section.title else []
        yield from section.lines
        for contact in section.contacts:
            yield from (p for p in (contact.name, contact.phone, contact.detail) if p)


def assert_shows(shown: str, screen: Screen, channel: str) -> None:
    seen = words(shown)
    missing = [p for p in pieces(screen) if words(p) not in seen]
    assert not missing, f"{channel} does not show: {missing}"


def service(channel: Channel, store: ConversationStore | None = None) -> CheckService:
    return wiring.check_service(
        store=store or MemoryStore(),
        directory=example_directory(),
        content=shipped_content(),
        clock=lambda: NOW,
        channel=channel,
    )


def outcome(svc: CheckService, conv: Conversation) -> Screen:
    """The outcome the service builds for this channel, where the plan leads in the pure flow."""
    return svc.screens.outcome(conv, svc.context(svc.flow.service_of(conv)))


def presses(plan: Plan) -> Iterator[str]:
    """The plan as the buttons a practitioner presses one by one (Telegram, the terminal), each
    applied to a mirror of the check in the pure flow to find the next."""
    flow = service("web").flow
    mirror = flow.new()
    flow.fire(mirror, "start")
    while (action := action_for(plan, mirror)) is not None:
        yield action
        parsed = parse_action(action)
        assert parsed is not None and flow.fire(mirror, parsed.kind, parsed.arg)


def web_forms(plan: Plan) -> Iterator[tuple[list[str], str]]:
    """The plan as the web page's forms: on a tick step, every tick with the button that closes it."""
    ticks: list[str] = []
    for action in presses(plan):
        if action.startswith("t:"):
            ticks.append(action[2:])
        else:
            yield ticks, action
            ticks = []


# -- the three channels, driven ---------------------------------------------------------------------
def pressed_action(data: str) -> str:
    """The action a Telegram button carries (``<check>.<version>.<action>.<mac>``)."""
    return data.rpartition(".")[0].split(".", 2)[2]


async def telegram_press(bot: Bot, action: str) -> str:
    """Press the newest button carrying ``action``; what the bot sent or edited in answer."""
    mid, data = next((m, d) for m, _, d in reversed(bot.api.buttons(CHAT)) if pressed_action(d) == action)
    since = len(bot.api.calls)
    await bot.feed(press(CHAT, data, mid))
    return sent_since(bot, since)


def sent_since(bot: Bot, since: int) -> str:
    return "\n".join(
        str(c.params.get("text", ""))
        for c in bot.api.calls[since:]
        if c.method in ("sendMessage", "editMessageText") and int(c.params["chat_id"]) == CHAT
    )


async def through_telegram(plan: Plan) -> str:
    async with running_bot(now=NOW) as bot:
        await bot.send(CHAT, "/check")
        shown = ""
        for action in presses(plan):
            shown = await telegram_press(bot, action)
        return shown


async def type_choice(console: Console, action: str) -> str:
    """Type the number shown beside ``action``; the screen shown in answer."""
    out = console.out
    assert isinstance(out, io.StringIO)
    number = next(n for n, c in enumerate(console._choices(console.screen), 1) if c and c[0] == action)
    before = len(out.getvalue())
    assert await console.handle(f"{number}\n")
    return out.getvalue()[before:]


async def through_terminal(plan: Plan) -> str:
    console = Console(service("terminal"), "terminal-key", out=io.StringIO())
    shown = await type_choice(console, "start")
    for action in presses(plan):
        shown = await type_choice(console, action)
    return shown.split(RULE)[-1]


def field(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, name
    return found.group(1)


def through_web(plan: Plan) -> str:
    with TestClient(create_app(service("web"), secret=SECRET, ttl_hours=24)) as client:
        page = client.get("/").text
        page = client.post("/start", data={"csrf": field(page, "csrf"), "action": "start"}).text
        for ticks, action in web_forms(plan):
            form = {"csrf": field(page, "csrf"), "token": field(page, "token"), "action": action}
            answer = client.post("/act", data={**form, "tick": ticks})
            assert answer.status_code == 200, action
            page = answer.text
        return page


# -- the same advice ----------------------------------------------------------------------------------
@pytest.mark.parametrize("plan", PLANS, ids=[f"plan{n}" for n in range(len(PLANS))])
async def test_the_same_answers_give_the_same_advice_in_every_channel(plan: Plan) -> None:
    conv = expected(plan)
    screens = {channel: outcome(service(channel), conv) for channel in ("telegram", "terminal", "web")}
    # One outcome: the same level, steps and contacts whatever the channel.
    assert {s.level for s in screens.values()} == {screens["web"].level} != {None}
    assert (
        list(pieces(screens["telegram"])) == list(pieces(screens["terminal"])) == list(pieces(screens["web"]))
    )
    assert_shows(await through_telegram(plan), screens["telegram"], "Telegram")
    assert_shows(await through_terminal(plan), screens["terminal"], "the terminal")
    assert_shows(through_web(plan), screens["web"], "the web page")


async def test_the_emergency_screen_is_the_same_in_every_channel() -> None:
    screens = {c: service(c).screens.lookup("emergency", service(c).context()) for c in ("telegram", "web")}
    assert list(pieces(screens["telegram"])) == list(pieces(screens["web"]))
    async with running_bot(now=NOW) as bot:
        await bot.send(CHAT, "/emergency")
        assert_shows(bot.texts(CHAT), screens["telegram"], "Telegram")
    console = Console(service("terminal"), "terminal-key", out=io.StringIO())
    assert await console.handle("e\n")
    assert_shows(console.out.getvalue().split(RULE)[-1], screens["telegram"], "the terminal")  # type: ignore[attr-defined]
    with TestClient(create_app(service("web"), secret=SECRET, ttl_hours=24)) as client:
        assert_shows(client.get("/look/emergency").text, screens["web"], "the web page")


async def test_with_the_store_down_every_channel_gives_the_same_safety_net() -> None:
    net = service("telegram", DownStore()).failure_screen(StoreUnavailable("down"))
    t = load_content().texts
    assert t.unavailable in net.sections[0].lines[0] or t.unavailable in list(pieces(net))
    async with running_bot(DownStore(), now=NOW) as bot:
        await bot.send(CHAT, "/check")
        assert_shows(bot.texts(CHAT), net, "Telegram")
    console = Console(service("terminal", DownStore()), "terminal-key", out=io.StringIO())
    assert await console.handle("1\n")  # Start
    assert_shows(console.out.getvalue().split(RULE)[-1], net, "the terminal")  # type: ignore[attr-defined]
    with TestClient(create_app(service("web", DownStore()), secret=SECRET, ttl_hours=24)) as client:
        client.cookies.set(COOKIE, Sessions(SECRET, 60).new_id())  # a session with a check, maybe
        page = client.get("/")
        assert page.status_code == 503
        assert_shows(page.text, net, "the web page")
