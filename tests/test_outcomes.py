"""Outcomes that fit the time and the situation: time frames on every step, who answers now out of
hours, situation blocks when their answers apply, the adult route, and honest wording."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from flows.contacts import ContactLine
from flows.directory import EXAMPLE_CONTACTS, YamlDirectory, load_directory
from flows.machine import Flow
from flows.schema import Content
from flows.screens import Context, Screen, Screens, Section
from tests.walk import walk

IN_HOURS = dt.datetime(2026, 12, 2, 10, 0)  # Wednesday morning
EVENING = dt.datetime(2026, 12, 2, 21, 30)  # Wednesday evening
WEEKEND = dt.datetime(2026, 12, 5, 14, 0)  # Saturday
HOLIDAY = dt.datetime(2026, 12, 25, 11, 0)  # Christmas Day, a weekday
GAP = dt.datetime(2026, 12, 4, 16, 30)  # Friday: office shut at 15:55, out-of-hours team from 17:00
OUT_OF_HOURS = [EVENING, WEEKEND, HOLIDAY, GAP]
# Every step starts by saying when to do it.
TIME_FRAME = re.compile(
    r"^(Now|Straight after|Today|Same day|By the next working day|Next working day|Any time)\b"
)
CASES = {
    "emergency": {"danger": "yes"},
    "urgent": {"ticks": ("assault",)},
    "concern": {"ticks": ("self_harm",)},
    "no_current_indicators": {},
}


@pytest.fixture(scope="module")
def example() -> YamlDirectory:
    return load_directory(EXAMPLE_CONTACTS)


def outcome(flow: Flow, directory: YamlDirectory, now: dt.datetime, **answers: object) -> Screen:
    conv = walk(flow, **answers)  # type: ignore[arg-type]
    return Screens(flow).outcome(conv, Context(directory, now, "education"))


def section(screen: Screen, style: str) -> Section:
    return next(s for s in screen.sections if s.style == style)


def contacts(screen: Screen) -> list[ContactLine]:
    return list(section(screen, "contacts").contacts)


@pytest.mark.parametrize("level", list(CASES))
@pytest.mark.parametrize("age", ["13_15", "adult"])
@pytest.mark.parametrize("now", [IN_HOURS, *OUT_OF_HOURS])
def test_every_step_says_when(
    flow: Flow, example: YamlDirectory, level: str, age: str, now: dt.datetime
) -> None:
    screen = outcome(flow, example, now, age=age, **CASES[level])  # type: ignore[arg-type]
    assert screen.level == level
    steps = section(screen, "numbered").lines
    assert steps and all(TIME_FRAME.match(step) for step in steps), steps


@pytest.mark.parametrize("level", list(CASES))
def test_in_hours_the_designated_person_comes_first(flow: Flow, example: YamlDirectory, level: str) -> None:
    screen = outcome(flow, example, IN_HOURS, **CASES[level])  # type: ignore[arg-type]
    steps = section(screen, "numbered").lines
    names = [c.name for c in contacts(screen)]
    if level == "emergency":
        assert "999" in steps[0] and names[0] == "Police, immediate danger"
    elif level != "no_current_indicators":
        assert "designated person" in steps[0]
        assert names[0] == "EXAMPLE School Child Protection Coordinator"


@pytest.mark.parametrize("level", ["urgent", "concern", "no_current_indicators"])
@pytest.mark.parametrize("now", OUT_OF_HOURS)
def test_out_of_hours_whoever_answers_now_comes_first(
    flow: Flow, example: YamlDirectory, level: str, now: dt.datetime
) -> None:
    screen = outcome(flow, example, now, **CASES[level])  # type: ignore[arg-type]
    steps = section(screen, "numbered").lines
    assert steps[0].startswith("Now") and "out-of-hours social work" in steps[0] and "101" in steps[0]
    assert "designated person" not in steps[0]
    assert any("designated person" in s and s.startswith("Next working day") for s in steps)
    lines = contacts(screen)
    designated = [i for i, c in enumerate(lines) if "Coordinator" in c.name]
    assert designated == [len(lines) - 1], "the designated person comes last, out of hours"
    assert lines[-1].detail is not None and lines[-1].detail.startswith("when next available")
    first = lines[0]
    if now is GAP:
        # Neither social work service answers: never a closed line as the only route.
        assert first.phone == "101"
        assert any(c.phone == "01786 470500" and c.detail == "from 17:00" for c in lines)
    else:
        assert first.phone == "01786 470500"


def test_emergency_out_of_hours_names_the_out_of_hours_team_then_the_designated_person(
    flow: Flow, example: YamlDirectory
) -> None:
    screen = outcome(flow, example, EVENING, danger="unsure")
    steps = section(screen, "numbered").lines
    assert "999" in steps[0]
    assert [c.phone for c in contacts(screen)][:2] == ["999", "01786 470500"]
    assert contacts(screen)[-1].name == "EXAMPLE School Child Protection Coordinator"


# -- situation blocks ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("answers", "block", "words"),
    [
        ({"ticks": ("assault",)}, "assault", ["police now", "medical help", "evidence"]),
        ({"age": "under_13"}, "under_13", ["cannot agree", "social work and the police"]),
        ({"age": "unknown", "ticks": ("callers",)}, "under_13", ["cannot agree"]),
        ({"ticks": ("missing_now",)}, "missing_now", ["report them missing to the police", "999"]),
        ({"ticks": ("pregnancy_sti",)}, "pregnancy_sti", ["health care", "crime by the adult"]),
        (
            {"ticks": ("sexual_images",)},
            "sexual_images",
            ["don't panic, don't pay, get help", "Report Remove", "Do not view"],
        ),
        ({"ticks": ("trafficking",)}, "trafficking", ["National Referral Mechanism"]),
        ({"age": "16_17"}, "sixteen", ["up to 18", "all three"]),
        ({"ticks": ("internet",)}, "online", ["CEOP"]),
    ],
)
def test_situation_blocks_show_when_their_answers_apply(
    flow: Flow,
    content: Content,
    example: YamlDirectory,
    answers: dict[str, object],
    block: str,
    words: list[str],
) -> None:
    title = next(a.title for a in content.addenda if a.id == block)
    shown = outcome(flow, example, IN_HOURS, **answers)  # type: ignore[arg-type]
    text = str(shown)
    assert title in [s.title for s in shown.sections]
    for word in words:
        assert word.lower() in text.lower(), word
    quiet = outcome(flow, example, IN_HOURS, ticks=("poverty",))
    assert title not in [s.title for s in quiet.sections]


def test_every_situation_block_names_its_source(content: Content) -> None:
    assert all(block.source for block in content.addenda)
    for item in content.indicators:
        if item.source is not None:
            assert item.source.strip()


# -- the adult route -------------------------------------------------------------------------------------
@pytest.mark.parametrize("level", ["urgent", "concern", "no_current_indicators"])
def test_an_adult_gets_the_adult_route_not_child_protection(
    flow: Flow, example: YamlDirectory, level: str
) -> None:
    text = str(outcome(flow, example, IN_HOURS, age="adult", **CASES[level]))  # type: ignore[arg-type]
    assert "child protection response" not in text
    assert "Child protection is for under-18s" in text
    if level != "no_current_indicators":
        assert "Adult Support and Protection" in text
        assert "cannot keep themselves safe" in text, "the three-point test is spelt out"
    child = str(outcome(flow, example, IN_HOURS, age="16_17", **CASES[level]))  # type: ignore[arg-type]
    assert "Child protection is for under-18s" not in child


def test_sixteen_and_seventeen_stay_in_child_protection_with_asp_only_on_the_test(
    flow: Flow, example: YamlDirectory
) -> None:
    text = str(outcome(flow, example, IN_HOURS, age="16_17", ticks=("assault",)))
    assert "child protection response" in text
    assert "Adult Support and Protection applies from 16 only if all three are true" in text


# -- honest wording -------------------------------------------------------------------------------------
def test_the_way_on_after_not_sure_does_not_claim_a_call(flow: Flow, example: YamlDirectory) -> None:
    conv = flow.new()
    flow.fire(conv, "start")
    flow.fire(conv, "answer", "unsure")
    screen = Screens(flow).for_conversation(conv, Context(example, IN_HOURS))
    labels = [b.label for row in screen.buttons for b in row]
    assert not any("called" in label.lower() for label in labels), labels


@pytest.mark.parametrize("level", list(CASES))
def test_why_is_never_empty_and_never_claims_what_was_not_ticked(
    flow: Flow, example: YamlDirectory, level: str
) -> None:
    screen = outcome(flow, example, IN_HOURS, **CASES[level])  # type: ignore[arg-type]
    why = next(s for s in screen.sections if s.title == flow.content.texts.why_title)
    assert why.lines and all(why.lines)
    text = str(screen).lower()
    if level == "concern":  # one sign, no vulnerability ticked
        assert "vulnerab" not in " ".join(why.lines).lower(), "nothing was ticked on those screens"
    if level == "no_current_indicators":
        assert why.lines == (flow.content.default_reason,)
    assert "no action" not in text


def test_concern_from_age_alone_does_not_say_vulnerabilities_were_ticked(
    flow: Flow, example: YamlDirectory
) -> None:
    screen = outcome(flow, example, IN_HOURS, age="under_13")
    assert screen.level == "concern"
    assert "vulnerab" not in " ".join(screen.sections[1].lines).lower()
    why = next(s for s in screen.sections if s.title == flow.content.texts.why_title)
    assert any("under 13" in line for line in why.lines)
    assert not any("ticked" in line for line in why.lines)


def test_read_out_lists_items_unambiguously_not_page_titles(flow: Flow, example: YamlDirectory) -> None:
    screen = outcome(
        flow, example, IN_HOURS, ticks=("missing", "money_gifts", "poverty"), unsure=("signs_4",)
    )
    summary = next(s for s in screen.sections if s.title == flow.content.summary.title)
    lines = {line.split(": ", 1)[0]: line.split(": ", 1)[1] for line in summary.lines[1:]}
    assert lines["Possible signs"].split("; ") == ["Has gone missing before", "Unexplained money or gifts"]
    assert lines["Vulnerabilities"] == "Poverty"
    unsure = lines["Not sure about"].split("; ")
    assert unsure[0] == "Worrying internet use" and "Other signs" not in lines["Not sure about"]
    assert all(flow.content.item(i).label in unsure for i in flow.step("signs_4").items)


def test_tools_carry_their_real_titles(content: Content) -> None:
    tools = " ".join(content.lookups.tools.lines)
    assert "National Risk Framework to Support the Assessment of Children and Young People" in tools
    assert "Joint Assessment Tool" in tools and "National Practice Model" in tools
