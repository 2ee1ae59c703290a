"""A feedback loop for the content owner: "Report a problem with this advice" on every outcome
counts, anonymously, which advice was questioned, thanks the practitioner and points to the
content owner; /stats shows the counts per week beside the outcomes."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from flows.contacts import EXAMPLE_CONTACTS, load_directory
from flows.machine import Flow
from flows.schema import Content, load_content
from flows.screens import Context, Screens
from storage.sql.schema import migrate
from storage.sql.store import SqlStore
from testkit.telegram_harness import running_bot
from testkit.walk import walk

ADMIN = 7780001
CHAT = 7780002
BUTTON = "Report a problem with this advice"


async def test_report_a_problem_is_counted_anonymously_and_shown_in_stats(tmp_path: Path) -> None:
    db = tmp_path / "f.sqlite3"
    migrate(f"sqlite:///{db}")
    store = SqlStore(url=f"sqlite:///{db}", ttl=dt.timedelta(hours=24))
    async with running_bot(store, admin_user_ids=[ADMIN]) as bot:
        await bot.walk_to_outcome(CHAT, ticks=("Controlling adult", "Worrying internet use"))
        outcome = bot.last_text(CHAT)
        assert "Share this concern today" in outcome
        await bot.tap(CHAT, BUTTON)
        thanks = bot.last_text(CHAT)
        assert "Thank you" in thanks and "Nothing about you or the child was kept" in thanks
        assert "cpc-content@example.org" in thanks, "the content owner from the contacts file"
        assert any(
            c.method == "sendMessage" and "Share this concern today" in str(c.params.get("text"))
            for c in bot.api.calls
        ), "the outcome itself stays in the chat"
        await bot.send(ADMIN, "/stats")
        figures = bot.last_text(ADMIN)
        assert "Reported a problem: urgent + online: 1" in figures
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT level, blocks, content_version, count FROM feedback_count").fetchall()
        keys = [r[0] for r in conn.execute("SELECT key FROM conversation")]
    assert len(rows) == 1 and rows[0][0] == "urgent" and rows[0][3] == 1
    assert keys == [], "nothing links the report to the chat"


def test_the_code_on_the_button_round_trips_and_refuses_anything_else(content: Content) -> None:
    directory = load_directory(EXAMPLE_CONTACTS)
    flow = Flow(load_content(), directory.services)
    screens = Screens(flow)
    conv = walk(flow, age="under_13", ticks=("sexual_images", "trafficking"))
    screen = screens.outcome(conv, Context(directory, dt.datetime(2026, 12, 2, 10, 0)))
    [action] = [b.action for row in screen.buttons for b in row if b.action.startswith("fb:")]
    level, blocks = screens.parse_feedback(action[3:]) or ("", -1)
    assert level == "urgent"
    shown = {content.addenda[i].id for i in range(len(content.addenda)) if blocks >> i & 1}
    assert shown == {"under_13", "sexual_images", "trafficking"}
    too_many = f"1_{1 << len(content.addenda):x}"  # a block past the last one
    for forged in ("9_0", too_many, "x_1", "1", "-1_0", "1_-1"):
        assert screens.parse_feedback(forged) is None, forged


def test_every_outcome_offers_the_report_button(content: Content) -> None:
    directory = load_directory(EXAMPLE_CONTACTS)
    flow = Flow(content, directory.services)
    for answers in ({"danger": "yes"}, {"ticks": ("assault",)}, {"ticks": ("poverty",)}, {}):
        screen = Screens(flow).outcome(
            walk(flow, **answers), Context(directory, dt.datetime(2026, 12, 5, 22))
        )  # type: ignore[arg-type]
        assert any(b.label.endswith(BUTTON) for row in screen.buttons for b in row), screen.level
