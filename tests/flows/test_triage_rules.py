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
from flows.rules import evaluate, strong, ticked
from flows.schema import Content
from flows.screens import Context, Screens
from testkit.sizes import scale
from testkit.walk import walk

AGES = ["under_13", "13_15", "16_17", "adult", "unknown"]
SIGN_STEPS = ("signs_1", "signs_2", "signs_3", "signs_4")
MULTI_STEPS = (*SIGN_STEPS, "vuln_1", "vuln_2")
NOW = dt.datetime(2026, 12, 2, 10, 0)  # a Wednesday morning, in office hours
# The table in docs/triage-rules.md, restated here by hand (not read from the content).
ALWAYS_SERIOUS = {
    "disclosure",
    "assault",
    "controlling_adult",
    "under13_sexual",
    "vehicles",
    "trafficking",
    "missing_now",
}
BY_AGE = {"older_partner", "pregnancy_sti", "sexual_images"}  # serious under 16; at 16+ only with more
GENERAL = {"drugs_alcohol", "self_harm", "isolation", "excluded"}  # signs of harm, not of exploitation
CHILD_ONLY = {"older_partner", "pregnancy_sti", "looked_after"}  # never asked of an adult


def rank(content: Content, level: str | None) -> int:
    """0 for the most urgent level; higher is less urgent."""
    assert level is not None
    return content.levels.index(level)


def expected(
    content: Content, age: str, ticks: frozenset[str], unsure: frozenset[str], follow: dict[str, str]
) -> str:
    """The level the rule table gives, worked out by hand from the table's own words."""
    under_13 = age == "under_13" or (age == "unknown" and follow.get("young") in ("yes", "unsure"))
    asked = set(ticks)
    if age == "adult":
        asked -= CHILD_ONLY
    if not under_13:
        asked.discard("under13_sexual")
    indicators = asked & content.indicator_ids
    specific = indicators - GENERAL
    lawful = follow.get("lawful_16") if age == "16_17" else follow.get("lawful_adult")
    weighed_serious = age in ("under_13", "13_15", "unknown") or lawful in ("yes", "unsure")
    serious = (indicators & ALWAYS_SERIOUS) or (weighed_serious and indicators & BY_AGE)
    ld = "learning_disability" in asked
    unsure_signs = bool(unsure & set(SIGN_STEPS))
    if "missing_now" in asked or ("assault" in asked and follow.get("assault_when") in ("recent", "unsure")):
        return "act_now"
    if (
        serious
        or (len(indicators) >= 2 and specific)
        or (under_13 and specific)
        or (ld and specific)
        or (under_13 and unsure_signs)
    ):
        return "urgent"
    if indicators or (asked & content.factor_ids) or unsure or under_13 or ld:
        return "concern"
    return "no_current_indicators"


# -- the worked examples (docs/triage-rules.md, "Worked examples") ---------------------------------
EXAMPLES: list[tuple[str, str, tuple[str, ...], tuple[str, ...], dict[str, str], str]] = [
    ("a 15-year-old with low mood only", "13_15", ("self_harm",), (), {}, "concern"),
    ("a 14-year-old whose partner is 19", "13_15", ("older_partner",), (), {}, "urgent"),
    (
        "a 12-year-old asking the school nurse for contraception",
        "under_13",
        ("under13_sexual",),
        (),
        {},
        "urgent",
    ),
    ("a 9-year-old with disrupted family life only", "under_13", ("family_disrupted",), (), {}, "concern"),
    (
        "a 16-year-old going missing, with unexplained money",
        "16_17",
        ("missing", "money_gifts"),
        (),
        {},
        "urgent",
    ),
    (
        "a 13-year-old excluded from school, with a learning disability",
        "13_15",
        ("excluded", "learning_disability"),
        (),
        {},
        "concern",
    ),
    (
        "a 14-year-old with a learning disability, unknown adults calling",
        "13_15",
        ("callers", "learning_disability"),
        (),
        {},
        "urgent",
    ),
    ("a 10-year-old, not sure about the signs", "under_13", (), ("signs_3",), {}, "urgent"),
    ("a 15-year-old, not sure about vulnerabilities only", "13_15", (), ("vuln_2",), {}, "concern"),
    (
        "age not known, could be under 13, drug use only",
        "unknown",
        ("drugs_alcohol",),
        (),
        {"young": "yes"},
        "concern",
    ),
    (
        "age not known, could be under 13, money or gifts",
        "unknown",
        ("money_gifts",),
        (),
        {"young": "yes"},
        "urgent",
    ),
    (
        "age not known, 13 or over, money or gifts",
        "unknown",
        ("money_gifts",),
        (),
        {"young": "no"},
        "concern",
    ),
    (
        "age not known, 13 or over, sexual images",
        "unknown",
        ("sexual_images",),
        (),
        {"young": "no"},
        "urgent",
    ),
    (
        "a 15-year-old low mood and cut off from friends",
        "13_15",
        ("self_harm", "isolation"),
        (),
        {},
        "concern",
    ),
    ("a 15-year-old low mood, with unknown callers", "13_15", ("self_harm", "callers"), (), {}, "urgent"),
    (
        "a 17-year-old sending images to her boyfriend of 17, nothing else",
        "16_17",
        ("sexual_images",),
        (),
        {"lawful_16": "no"},
        "concern",
    ),
    (
        "a 17-year-old whose images were shared round the school",
        "16_17",
        ("sexual_images",),
        (),
        {"lawful_16": "yes"},
        "urgent",
    ),
    (
        "a 16-year-old pregnant by her partner of 17, nothing else",
        "16_17",
        ("pregnancy_sti",),
        (),
        {"lawful_16": "no"},
        "concern",
    ),
    (
        "a 16-year-old with a partner of 30 who buys her things",
        "16_17",
        ("older_partner",),
        (),
        {"lawful_16": "yes"},
        "urgent",
    ),
    (
        "a 16-year-old, not sure what lies behind an older partner",
        "16_17",
        ("older_partner",),
        (),
        {"lawful_16": "unsure"},
        "urgent",
    ),
    ("a 15-year-old picked up by unknown adults in cars", "13_15", ("vehicles",), (), {}, "urgent"),
    ("a 14-year-old missing right now", "13_15", ("missing_now",), (), {}, "act_now"),
    (
        "an adult with a learning disability missing right now",
        "adult",
        ("missing_now", "learning_disability"),
        (),
        {},
        "act_now",
    ),
    (
        "a 14-year-old assaulted at a party last night",
        "13_15",
        ("assault",),
        (),
        {"assault_when": "recent"},
        "act_now",
    ),
    (
        "a 15-year-old assaulted, not sure when",
        "13_15",
        ("assault",),
        (),
        {"assault_when": "unsure"},
        "act_now",
    ),
    (
        "a 15-year-old who says she was assaulted last year",
        "13_15",
        ("assault",),
        (),
        {"assault_when": "earlier"},
        "urgent",
    ),
    ("an adult assaulted this week", "adult", ("assault",), (), {"assault_when": "recent"}, "act_now"),
    (
        "an adult whose images are used as a threat",
        "adult",
        ("sexual_images",),
        (),
        {"lawful_adult": "yes"},
        "urgent",
    ),
    (
        "an adult sharing images with a partner, nothing else",
        "adult",
        ("sexual_images",),
        (),
        {"lawful_adult": "no"},
        "concern",
    ),
    ("nothing ticked at 15", "13_15", (), (), {}, "no_current_indicators"),
    ("a 12-year-old with nothing else", "under_13", (), (), {}, "concern"),
    ("age not known, 13 or over, nothing else", "unknown", (), (), {"young": "no"}, "no_current_indicators"),
]


@pytest.mark.parametrize(
    ("case", "age", "ticks", "unsure", "follow", "level"), EXAMPLES, ids=[e[0] for e in EXAMPLES]
)
def test_worked_examples(
    flow: Flow,
    case: str,
    age: str,
    ticks: tuple[str, ...],
    unsure: tuple[str, ...],
    follow: dict[str, str],
    level: str,
) -> None:
    assert walk(flow, age=age, ticks=ticks, unsure=unsure, answers=follow).level == level, case


def test_the_hand_written_table_agrees_with_every_worked_example(content: Content) -> None:
    for case, age, ticks, unsure, follow, level in EXAMPLES:
        assert expected(content, age, frozenset(ticks), frozenset(unsure), follow) == level, case


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
    assert rank(flow.content, conv.level) <= rank(flow.content, "urgent")
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
Answers = tuple[str, frozenset[str], frozenset[str], dict[str, str]]


def answers(flow: Flow) -> st.SearchStrategy[Answers]:
    content = flow.content
    items = sorted(content.indicator_ids | content.factor_ids)
    follow_ups = {
        s.id: st.sampled_from([code for code, _ in flow.options(s)])
        for s in flow.steps
        if s.kind == "single" and s.id not in ("danger", "age")
    }
    return st.tuples(
        st.sampled_from(AGES),
        st.frozensets(st.sampled_from(items), max_size=6),
        st.frozensets(st.sampled_from(MULTI_STEPS), max_size=3),
        st.fixed_dictionaries(follow_ups),
    )


def level_of(
    flow: Flow, age: str, ticks: frozenset[str], unsure: frozenset[str], follow: dict[str, str]
) -> str:
    level = walk(flow, age=age, ticks=tuple(ticks), unsure=tuple(unsure), answers=follow).level
    assert level is not None
    return level


@settings(max_examples=scale(200, 500), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_answer_set_gets_the_level_of_the_table(
    flow: Flow, content: Content, data: st.DataObject
) -> None:
    """Any answers at all: the level is exactly what the table in docs/triage-rules.md gives, and
    never the emergency without the danger question."""
    age, ticks, unsure, follow = data.draw(answers(flow))
    assert level_of(flow, age, ticks, unsure, follow) == expected(content, age, ticks, unsure, follow)


@settings(max_examples=scale(100, 200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_more_ticks_never_lower_the_level_and_unknown_age_is_the_riskiest(
    flow: Flow, content: Content, data: st.DataObject
) -> None:
    age, ticks, unsure, follow = data.draw(answers(flow))
    extra = data.draw(st.sampled_from(sorted(content.indicator_ids | content.factor_ids)))
    base = rank(content, level_of(flow, age, ticks, unsure, follow))
    assert rank(content, level_of(flow, age, ticks | {extra}, unsure, follow)) <= base
    more_unsure = data.draw(st.sampled_from(MULTI_STEPS))
    assert rank(content, level_of(flow, age, ticks, unsure | {more_unsure}, follow)) <= base
    # Not knowing the age is never safer than knowing it: "could be under 13" is at least as
    # urgent as any age; "13 or over" at least as urgent as any age from 13.
    young = rank(content, level_of(flow, "unknown", ticks, unsure, {**follow, "young": "yes"}))
    assert young <= min(rank(content, level_of(flow, a, ticks, unsure, follow)) for a in AGES)
    older = rank(content, level_of(flow, "unknown", ticks, unsure, {**follow, "young": "no"}))
    assert older <= min(rank(content, level_of(flow, a, ticks, unsure, follow)) for a in AGES[1:4])


# -- nothing a practitioner ticked is ever lost ---------------------------------------------------------
def _next_event(flow: Flow, conv: Conversation, data: st.DataObject) -> tuple[str, str | None]:
    """An event that fits where the check is, mostly: ticks on the step on screen (so several
    ticks on one step are common), its closers and options, Back, and now and then a restart or
    an event that does not fit (which must change nothing)."""
    step = flow.step(conv.state)
    if step.kind == "multi":
        fitting = [("toggle", i) for i in flow.items(step, conv)] * 2
        fitting += [("answer", "none"), ("answer", "unsure"), ("done", None)]
    else:
        fitting = [("answer", code) for code, _ in flow.options(step)]
    odd = [("back", None), ("restart", None), ("toggle", "assault"), ("answer", "none")]
    return data.draw(st.sampled_from(fitting) if data.draw(st.integers(0, 9)) else st.sampled_from(odd))


@settings(max_examples=scale(200, 500), deadline=None, suppress_health_check=[HealthCheck.too_slow])
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
    # A serious sign for the answers given at the end (the age decides for a few items).
    if any(i in ticked(content, conv) and strong(content, i, conv) for i in live):
        assert rank(content, conv.level) <= rank(content, "urgent")
        assert evaluate(content, conv).level == conv.level


def test_the_rule_table_in_the_docs_matches_the_content(content: Content) -> None:
    """docs/triage-rules.md gives every rule of the content its row, and no other."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "triage-rules.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| ([A-Z][0-9]{1,2}) \| [^|\w]*([\w ]+?) \|", doc, flags=re.MULTILINE))
    assert rows == {rule.id: rule.level.replace("_", " ") for rule in content.rules}
    for item in content.indicators:
        if item.strong:
            assert f"| {item.label} |" in doc, f"significant indicator '{item.label}' has no row"
