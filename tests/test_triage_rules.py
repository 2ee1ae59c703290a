"""The levels a senior practitioner would sign (docs/triage-rules.md): the worked examples, the
rule table's principles over many answer sets, and ticks that are never lost.

An independent review runs further cases; these tests hold the *rules* (properties over any
answers), not only the examples.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.contacts import GenericDirectory
from flows.machine import OUTCOME, Conversation, Flow
from flows.rules import evaluate
from flows.schema import Content
from flows.screens import Context, Screens
from tests.walk import walk

AGES = ["under_13", "13_15", "16_17", "adult", "unknown"]
YOUNG = {"under_13", "unknown"}  # an unknown age counts as the riskiest band
SIGN_STEPS = ("signs_1", "signs_2", "signs_3", "signs_4")
MULTI_STEPS = (*SIGN_STEPS, "vuln_1", "vuln_2")
NOW = dt.datetime(2026, 12, 2, 10, 0)  # a Wednesday morning, in office hours


def rank(content: Content, level: str | None) -> int:
    """0 for the most urgent level; higher is less urgent."""
    assert level is not None
    return content.levels.index(level)


# -- the worked examples (docs/triage-rules.md, "Worked examples") ---------------------------------
EXAMPLES = [
    ("a 15-year-old with low mood only", "13_15", ("self_harm",), (), "concern"),
    ("a 14-year-old whose partner is 19", "13_15", ("older_partner",), (), "urgent"),
    (
        "a 12-year-old asking the school nurse for contraception",
        "under_13",
        ("under13_sexual",),
        (),
        "urgent",
    ),
    ("a 9-year-old with disrupted family life only", "under_13", ("family_disrupted",), (), "concern"),
    (
        "a 16-year-old going missing, with unexplained money",
        "16_17",
        ("missing", "money_gifts"),
        (),
        "urgent",
    ),
    (
        "a 13-year-old excluded from school, with a learning disability",
        "13_15",
        ("excluded", "learning_disability"),
        (),
        "urgent",
    ),
    ("a 10-year-old, not sure about the signs", "under_13", (), ("signs_3",), "urgent"),
    ("a 15-year-old, not sure about vulnerabilities only", "13_15", (), ("vuln_2",), "concern"),
    ("age not known, drug use only", "unknown", ("drugs_alcohol",), (), "urgent"),
    ("a 17-year-old sent sexual images", "16_17", ("sexual_images",), (), "urgent"),
    ("a 15-year-old picked up by unknown adults in cars", "13_15", ("vehicles",), (), "urgent"),
    ("nothing ticked at 15", "13_15", (), (), "no_current_indicators"),
    ("a 12-year-old with nothing else", "under_13", (), (), "concern"),
]


@pytest.mark.parametrize(("case", "age", "ticks", "unsure", "level"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_worked_examples(
    flow: Flow, case: str, age: str, ticks: tuple[str, ...], unsure: tuple[str, ...], level: str
) -> None:
    assert walk(flow, age=age, ticks=ticks, unsure=unsure).level == level, case


def test_assault_then_none_of_these_cannot_drop_the_tick(flow: Flow) -> None:
    conv = flow.new()
    flow.fire(conv, "start")
    flow.fire(conv, "answer", "no")
    flow.fire(conv, "answer", "13_15")
    assert conv.state == "signs_1"
    assert flow.fire(conv, "toggle", "assault")
    # "None of these" is not offered once something is ticked, and refused if sent anyway.
    screen = Screens(flow).for_conversation(conv, Context(GenericDirectory(), NOW))
    actions = [b.action for row in screen.buttons for b in row]
    assert "a:none" not in actions and "a:unsure" in actions and "done" in actions
    assert not flow.fire(conv, "answer", "none")
    assert conv.picked["signs_1"] == ["assault"]
    finish_with_done(flow, conv)
    assert conv.level == "urgent"
    # Untick, and "None of these" is offered again.
    conv2 = flow.new()
    flow.fire(conv2, "start")
    flow.fire(conv2, "answer", "no")
    flow.fire(conv2, "answer", "13_15")
    flow.fire(conv2, "toggle", "assault")
    flow.fire(conv2, "toggle", "assault")
    screen = Screens(flow).for_conversation(conv2, Context(GenericDirectory(), NOW))
    assert "a:none" in [b.action for row in screen.buttons for b in row]


def finish_with_done(flow: Flow, conv: Conversation) -> None:
    while conv.state != OUTCOME:
        step = flow.step(conv.state)
        assert (
            flow.fire(conv, "done")
            if step.kind == "multi"
            else flow.fire(conv, "answer", flow.options(step)[0][0])
        )


# -- the rule table's principles, over many answer sets ----------------------------------------------
def answers(content: Content) -> st.SearchStrategy[tuple[str, frozenset[str], frozenset[str]]]:
    items = sorted(content.indicator_ids | content.factor_ids)
    return st.tuples(
        st.sampled_from(AGES),
        st.frozensets(st.sampled_from(items), max_size=6),
        st.frozensets(st.sampled_from(MULTI_STEPS), max_size=3),
    )


def level_of(flow: Flow, age: str, ticks: frozenset[str], unsure: frozenset[str]) -> str:
    level = walk(flow, age=age, ticks=tuple(ticks), unsure=tuple(unsure)).level
    assert level is not None
    return level


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_principles_hold_for_any_answers(flow: Flow, content: Content, data: st.DataObject) -> None:
    age, ticks, unsure = data.draw(answers(content))
    level = level_of(flow, age, ticks, unsure)
    r = rank(content, level)
    urgent, concern = rank(content, "urgent"), rank(content, "concern")
    indicators = ticks & content.indicator_ids
    strong = ticks & content.strong_ids
    factors = ticks & content.factor_ids
    ld = "learning_disability" in ticks
    unsure_signs = bool(unsure & set(SIGN_STEPS))

    assert level != "emergency", "only the danger question leads to 999 first"
    if strong:
        assert r <= urgent, "a significant indicator alone is urgent"
    if len(indicators) >= 2:
        assert r <= urgent, "two or more indicators are urgent"
    if indicators and age in YOUNG:
        assert r <= urgent, "any indicator under 13 (or age not known) is urgent"
    if indicators and ld:
        assert r <= urgent, "any indicator with a learning disability is urgent"
    if age in YOUNG and unsure_signs:
        assert r <= urgent, "under 13 and not sure about the signs is urgent"
    if indicators or factors or unsure or age in YOUNG:
        assert r <= concern, "never lower than a concern"
    # ... and nothing is raised further than the table says:
    if len(indicators) == 1 and not strong and age not in YOUNG and not ld:
        assert level == "concern", "one softer sign at 13 or over is a concern"
    if not indicators and not (age in YOUNG and unsure_signs) and (factors or unsure or age in YOUNG):
        assert level == "concern", "factors, 'not sure' or age alone are a concern"
    if not (indicators or factors or unsure or age in YOUNG):
        assert level == "no_current_indicators"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_more_ticks_never_lower_the_level_and_unknown_age_is_the_riskiest(
    flow: Flow, content: Content, data: st.DataObject
) -> None:
    age, ticks, unsure = data.draw(answers(content))
    extra = data.draw(st.sampled_from(sorted(content.indicator_ids | content.factor_ids)))
    base = rank(content, level_of(flow, age, ticks, unsure))
    assert rank(content, level_of(flow, age, ticks | {extra}, unsure)) <= base
    more_unsure = data.draw(st.sampled_from(MULTI_STEPS))
    assert rank(content, level_of(flow, age, ticks, unsure | {more_unsure})) <= base
    unknown = rank(content, level_of(flow, "unknown", ticks, unsure))
    assert unknown <= min(rank(content, level_of(flow, a, ticks, unsure)) for a in AGES)


# -- nothing a practitioner ticked is ever lost ---------------------------------------------------------
def _next_event(flow: Flow, conv: Conversation, data: st.DataObject) -> tuple[str, str | None]:
    """An event that fits where the check is, mostly: ticks on the step on screen (so several
    ticks on one step are common), its closers and options, Back, and now and then a restart or
    an event that does not fit (which must change nothing)."""
    step = flow.step(conv.state)
    if step.kind == "multi":
        fitting = [("toggle", i) for i in step.items] * 2
        fitting += [("answer", "none"), ("answer", "unsure"), ("done", None)]
    else:
        fitting = [("answer", code) for code, _ in flow.options(step)]
    odd = [("back", None), ("restart", None), ("toggle", "assault"), ("answer", "none")]
    return data.draw(st.sampled_from(fitting) if data.draw(st.integers(0, 9)) else st.sampled_from(odd))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_strong_tick_never_unticked_always_ends_urgent_or_above(flow: Flow, data: st.DataObject) -> None:
    """Over any sequence of events: a significant item ticked and not unticked by the
    practitioner (untick or restart) is still ticked at the outcome, which is urgent or above."""
    content = flow.content
    conv = flow.new()
    flow.fire(conv, "start")
    live: set[str] = set()  # strong items ticked and not taken back
    for _ in range(data.draw(st.integers(0, 60))):
        if conv.state == OUTCOME:
            break
        event, arg = _next_event(flow, conv, data)
        was = set(conv.items())
        if not flow.fire(conv, event, arg):
            continue
        now = set(conv.items())
        if event == "restart":
            live.clear()
            continue
        # A toggle may take back its own item (the practitioner unticking it), nothing else.
        kept = was - {arg} if event == "toggle" else was
        assert kept <= now, f"'{event} {arg}' dropped a tick: {sorted(kept - now)}"
        if event == "toggle" and arg in content.strong_ids:
            if arg in now:
                live.add(arg)
            else:
                live.discard(arg)
    if conv.state != OUTCOME:
        finish_with_done(flow, conv)
    assert live <= set(conv.items())
    if live:
        assert rank(content, conv.level) <= rank(content, "urgent")
        assert evaluate(content, conv).level == conv.level


def test_the_rule_table_in_the_docs_matches_the_content(content: Content) -> None:
    """docs/triage-rules.md gives every rule of the content its row, and no other."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "triage-rules.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| ([A-Z][0-9]{1,2}) \| [^|]*?(\w+) \|", doc, flags=re.MULTILINE))
    assert rows == {rule.id: rule.level for rule in content.rules}
    for item in content.indicators:
        if item.strong:
            assert f"| {item.label} |" in doc, f"significant indicator '{item.label}' has no row"
