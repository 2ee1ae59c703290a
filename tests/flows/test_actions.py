"""One parser for every front end: every action a screen draws parses, and nothing else does."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from flows.contacts import GenericDirectory
from flows.machine import Flow
from flows.screens import LOOKUPS, Context, Screens, parse_action
from testkit.walk import walk


def test_every_button_on_every_screen_parses(flow: Flow) -> None:
    screens = Screens(flow)
    ctx = Context(GenericDirectory(), dt.datetime(2026, 12, 2, 10, 0))
    drawn = [screens.welcome(ctx), screens.cancelled(ctx), screens.feedback_thanks(ctx)]
    drawn += [screens.lookup(name, ctx, in_check=True) for name in LOOKUPS]
    for step in flow.steps:
        conv = flow.new()
        conv.state, conv.history = step.id, ["danger"]
        drawn.append(screens.for_conversation(conv, ctx))
    drawn.append(screens.outcome(walk(flow, ticks=("assault",)), ctx))
    kinds = set()
    for screen in drawn:
        for row in screen.buttons:
            for button in row:
                parsed = parse_action(button.action)
                assert parsed is not None, button.action
                kinds.add(parsed.kind)
    assert {
        "answer",
        "toggle",
        "done",
        "back",
        "look",
        "start",
        "restart",
        "resume",
        "clear",
        "feedback",
    } <= kinds


def test_events_and_their_arguments() -> None:
    assert parse_action("a:13_15") is not None and parse_action("a:13_15").is_event  # type: ignore[union-attr]
    assert parse_action("t:assault") == parse_action("t:assault")
    assert parse_action("x:42").kind == "clear" and parse_action("x:42").arg == "42"  # type: ignore[union-attr]
    assert not parse_action("look:contacts").is_event  # type: ignore[union-attr]


@given(st.text(max_size=40))
def test_anything_else_is_refused(code: str) -> None:
    parsed = parse_action(code)
    if parsed is not None:  # only the shapes the screens draw
        prefix = code.partition(":")[0]
        assert code in {"done", "back", "cancel", "start", "restart", "resume", "clear"} or (
            prefix in {"a", "t", "look", "fb", "x"} and code.partition(":")[2]
        )
