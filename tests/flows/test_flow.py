"""The check as a practitioner walks it: every path ends in guidance, danger always means 999
first, each escalation rule and override holds, back and restart behave, state round-trips."""

from __future__ import annotations

import datetime as dt
from itertools import chain

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.contacts import GenericDirectory
from flows.machine import CANCELLED, OUTCOME, WELCOME, Conversation, Flow, InvalidConversation
from flows.rules import evaluate
from flows.schema import Content
from flows.screens import Context, Screens
from testkit.walk import walk

NOW = dt.datetime(2026, 12, 2, 10, 0)


def test_a_quiet_check_still_ends_in_guidance(flow: Flow) -> None:
    conv = walk(flow)
    assert conv.level == "no_current_indicators"
    screen = Screens(flow).outcome(conv, Context(GenericDirectory(), NOW))
    text = str(screen)
    assert screen.level == "no_current_indicators" and "No signs ticked" in screen.title
    assert "designated person" in text
    assert "no action" not in text.lower()


@pytest.mark.parametrize("danger", ["yes", "unsure"])
def test_immediate_danger_shows_999_at_once_then_offers_to_continue(flow: Flow, danger: str) -> None:
    conv = flow.new()
    flow.fire(conv, "start")
    flow.fire(conv, "answer", danger)
    assert conv.state == "danger_alert"
    screen = Screens(flow).for_conversation(conv, Context(GenericDirectory(), NOW))
    assert "999" in screen.title
    assert [b.action for row in screen.buttons for b in row][:2] == ["a:continue", "a:skip"]


@pytest.mark.parametrize("danger", ["yes", "unsure"])
@pytest.mark.parametrize("ticks", [(), ("assault",), ("poverty",)])
def test_danger_is_an_emergency_whatever_else_was_answered(
    flow: Flow, danger: str, ticks: tuple[str, ...]
) -> None:
    conv = walk(flow, danger=danger, ticks=ticks)
    assert conv.level == "emergency"
    screen = Screens(flow).outcome(conv, Context(GenericDirectory(), NOW))
    contacts = next(s for s in screen.sections if s.style == "contacts").contacts
    assert contacts[0].phone == "999"
    assert "999" in screen.title


def test_skipping_from_the_alert_goes_straight_to_the_emergency_outcome(flow: Flow) -> None:
    conv = flow.new()
    flow.fire(conv, "start")
    flow.fire(conv, "answer", "yes")
    assert flow.fire(conv, "answer", "skip")
    assert (conv.state, conv.level) == (OUTCOME, "emergency")


def test_under_13_with_factors_only_is_a_concern_and_with_a_sign_urgent(flow: Flow) -> None:
    assert walk(flow, age="under_13", ticks=("poverty",)).level == "concern"
    assert walk(flow, age="under_13", ticks=("poverty", "money_gifts")).level == "urgent"
    # A general sign of distress is not a sign of exploitation: under 13 it stays a concern.
    assert walk(flow, age="under_13", ticks=("poverty", "drugs_alcohol")).level == "concern"
    assert walk(flow, age="13_15", ticks=("poverty",)).level == "concern"


def test_factors_without_indicators_are_a_concern(flow: Flow) -> None:
    assert walk(flow, ticks=("bullying", "low_self_esteem")).level == "concern"


def test_being_unsure_raises_never_lowers(flow: Flow) -> None:
    assert walk(flow, unsure=("signs_2",)).level == "concern"
    assert walk(flow, ticks=("disclosure",), unsure=("signs_2",)).level == "urgent"


@pytest.mark.parametrize("age", ["under_13", "unknown"])
def test_under_13_is_never_below_concern(flow: Flow, age: str) -> None:
    assert walk(flow, age=age).level == "concern"


def test_learning_disability_is_never_below_concern(flow: Flow) -> None:
    conv = walk(flow, ticks=("learning_disability",))
    assert conv.level == "concern"
    assert any("learning disability" in r for r in evaluate(flow.content, conv).reasons)


def test_online_items_add_the_online_steps(flow: Flow) -> None:
    screens = Screens(flow)
    online = screens.outcome(walk(flow, ticks=("internet",)), Context(GenericDirectory(), NOW))
    offline = screens.outcome(walk(flow, ticks=("assault",)), Context(GenericDirectory(), NOW))
    images = screens.outcome(walk(flow, ticks=("sexual_images",)), Context(GenericDirectory(), NOW))
    assert "CEOP" in str(online) and "Leave phones and devices as they are" in str(online)
    assert "CEOP" not in str(offline) and "Leave phones" not in str(offline)
    assert "Report Remove" in str(images) and "don't pay" in str(images)
    assert "Report Remove" not in str(online)


def test_outcome_summary_is_anonymous_and_leads_with_safety(flow: Flow) -> None:
    screen = Screens(flow).outcome(
        walk(flow, age="16_17", ticks=("assault", "poverty")), Context(GenericDirectory(), NOW)
    )
    summary = next(s for s in screen.sections if s.title == flow.content.summary.title)
    assert summary.lines[0] == "First: are they safe now, and where are they?"
    joined = " ".join(summary.lines)
    assert "16 or 17" in joined and "Assault, seen or suspected" in joined and "Poverty" in joined


def test_every_outcome_says_it_does_not_replace_judgement(flow: Flow, content: Content) -> None:
    for level_ticks in [(), ("assault",), ("poverty",)]:
        assert "never replaces your professional judgement" in str(
            Screens(flow).outcome(walk(flow, ticks=level_ticks), Context(GenericDirectory(), NOW))
        )


def test_back_returns_to_the_previous_step_with_answers_kept(flow: Flow) -> None:
    conv = flow.new()
    flow.fire(conv, "start")
    flow.fire(conv, "answer", "no")
    flow.fire(conv, "answer", "16_17")
    flow.fire(conv, "toggle", "assault")
    flow.fire(conv, "done")
    assert conv.state == "signs_2"
    flow.fire(conv, "done")
    assert conv.state == "assault_when"
    assert flow.fire(conv, "answer", "earlier")
    assert conv.state == "signs_3"
    assert flow.fire(conv, "back")
    assert conv.state == "assault_when" and conv.answers["assault_when"] == "earlier"
    assert flow.fire(conv, "back")
    assert conv.state == "signs_2"
    assert flow.fire(conv, "back")
    assert conv.state == "signs_1" and conv.picked["signs_1"] == ["assault"]
    assert flow.fire(conv, "back")
    assert conv.state == "age" and conv.answers["age"] == "16_17"
    assert flow.fire(conv, "back") and conv.state == "danger"
    assert not flow.fire(conv, "back"), "nothing before the first step"


def test_restart_clears_everything(flow: Flow) -> None:
    conv = flow.new()
    flow.fire(conv, "start")
    flow.fire(conv, "answer", "no")
    flow.fire(conv, "answer", "16_17")
    assert flow.fire(conv, "restart")
    assert conv.state == "danger" and not conv.answers and not conv.history


def test_cancel_ends_the_check_with_guidance(flow: Flow) -> None:
    conv = flow.new()
    flow.fire(conv, "start")
    assert flow.fire(conv, "cancel") and conv.state == CANCELLED
    screen = Screens(flow).cancelled(Context(GenericDirectory(), NOW))
    assert "999" in str(screen) and "designated person" in str(screen).lower()


def test_events_that_do_not_fit_change_nothing(flow: Flow) -> None:
    conv = flow.new()
    assert not flow.fire(conv, "answer", "no"), "no answers before start"
    flow.fire(conv, "start")
    before = conv.to_dict()
    assert not flow.fire(conv, "toggle", "assault"), "danger is not a multi step"
    assert not flow.fire(conv, "answer", "maybe")
    assert not flow.fire(conv, "explode")
    assert conv.to_dict() == before


def test_serialised_state_holds_codes_only_and_rejects_unknown_codes(flow: Flow) -> None:
    conv = walk(flow, ticks=("assault",))
    data = conv.to_dict()
    assert flow.load(data).to_dict() == data
    for bad in (
        {**data, "state": "nowhere"},
        {**data, "answers": {"age": "Jane Smith"}},
        {**data, "picked": {"signs_1": ["12 High Street"]}},
        {"answers": {}},
    ):
        with pytest.raises(InvalidConversation):
            flow.load(bad)


def _events(flow: Flow) -> st.SearchStrategy[tuple[str, str | None]]:
    codes = sorted({o.code for s in flow.content.steps for o in s.options} | {"none", "unsure", "bogus"})
    items = sorted(chain(flow.content.indicator_ids, flow.content.factor_ids)) + ["bogus"]
    return st.one_of(
        st.tuples(st.sampled_from(["answer"]), st.sampled_from(codes)),
        st.tuples(st.just("toggle"), st.sampled_from(items)),
        st.tuples(st.sampled_from(["done", "back", "start", "restart", "cancel"]), st.none()),
    )


def finish(flow: Flow, conv: Conversation) -> int:
    """Drive a conversation to its end by the first option / Done; return how many events."""
    n = 0
    if conv.state in (WELCOME, CANCELLED):
        flow.fire(conv, "start")
    while conv.state != OUTCOME:
        step = flow.step(conv.state)
        ok = (
            flow.fire(conv, "done")
            if step.kind == "multi"
            else flow.fire(conv, "answer", flow.options(step)[0][0])
        )
        assert ok
        n += 1
        assert n <= len(flow.steps), "a path must not loop"
    return n


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_sequence_of_taps_stays_valid_and_can_always_finish(flow: Flow, data: st.DataObject) -> None:
    conv = flow.new()
    events = data.draw(st.lists(_events(flow), max_size=40))
    directory = GenericDirectory()
    for event, arg in events:
        flow.fire(conv, event, arg)
        assert conv.state in flow.states
        assert flow.load(conv.to_dict()).to_dict() == conv.to_dict()
        if conv.state == OUTCOME:
            result = evaluate(flow.content, conv)
            assert conv.level == result.level
            if conv.answers.get("danger") in ("yes", "unsure"):
                assert result.level == "emergency"
            screen = Screens(flow).outcome(conv, Context(directory, NOW))
            contacts = next(s for s in screen.sections if s.style == "contacts").contacts
            assert any("designated person" in c.name.lower() for c in contacts)
    probe = flow.load(conv.to_dict())
    if probe.state != OUTCOME:
        finish(flow, probe)
    assert probe.level in flow.content.levels


def test_every_outcome_level_is_reachable_and_names_contacts(flow: Flow, content: Content) -> None:
    reached = {
        walk(flow, danger="yes").level,
        walk(flow, ticks=("missing_now",)).level,
        walk(flow, ticks=("disclosure",)).level,
        walk(flow, ticks=("poverty",)).level,
        walk(flow).level,
    }
    assert reached == set(content.levels)
    for level, outcome in content.outcomes.items():
        assert "designated_person" in outcome.contacts, level
