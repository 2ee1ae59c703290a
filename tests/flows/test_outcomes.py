"""Outcomes that fit the time and the situation: time frames on every step, who answers now out of
hours, situation blocks when their answers apply, the adult route, and honest wording."""

from __future__ import annotations

import datetime as dt

import pytest

from flows.contacts import EXAMPLE_CONTACTS, ContactLine, YamlDirectory, load_directory
from flows.machine import Flow
from flows.rules import evaluate
from flows.schema import Content
from flows.screens import Context, Screen, Screens, Section
from testkit.walk import walk

IN_HOURS = dt.datetime(2026, 12, 2, 10, 0)  # Wednesday morning
EVENING = dt.datetime(2026, 12, 2, 21, 30)  # Wednesday evening
WEEKEND = dt.datetime(2026, 12, 5, 14, 0)  # Saturday
HOLIDAY = dt.datetime(2026, 12, 25, 11, 0)  # Christmas Day, a weekday
GAP = dt.datetime(2026, 12, 4, 16, 30)  # Friday: office shut at 15:55, out-of-hours team from 17:00
OUT_OF_HOURS = [EVENING, WEEKEND, HOLIDAY, GAP]
CASES = {
    "emergency": {"danger": "yes"},
    "act_now": {"ticks": ("missing_now",)},
    "urgent": {"ticks": ("disclosure",)},
    "concern": {"ticks": ("money_gifts",)},
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
    frames = list(flow.content.timeframes.values())
    # Every step starts by saying when, and the steps run in time order ("now" lines first; no
    # "next working day" before a "today").
    order = [next(i for i, f in enumerate(frames) if step.startswith(f + ":")) for step in steps]
    assert steps and order == sorted(order), steps


@pytest.mark.parametrize("level", list(CASES))
def test_in_hours_the_designated_person_comes_first(flow: Flow, example: YamlDirectory, level: str) -> None:
    screen = outcome(flow, example, IN_HOURS, **CASES[level])  # type: ignore[arg-type]
    steps = section(screen, "numbered").lines
    names = [c.name for c in contacts(screen)]
    if level in ("emergency", "act_now"):
        assert "999" in steps[0] and names[0] == "Police, immediate danger"
    elif level != "no_current_indicators":
        assert "designated person" in steps[0], steps
        assert names[0] == "EXAMPLE School Child Protection Coordinator"


@pytest.mark.parametrize("level", ["urgent", "concern", "no_current_indicators"])
@pytest.mark.parametrize("now", OUT_OF_HOURS)
def test_out_of_hours_whoever_answers_now_comes_first(
    flow: Flow, example: YamlDirectory, level: str, now: dt.datetime
) -> None:
    screen = outcome(flow, example, now, **CASES[level])  # type: ignore[arg-type]
    steps = section(screen, "numbered").lines
    assert steps[0].startswith(("Now:", "If you fear for their safety now:")) and "101" in steps[0]
    if now is GAP:
        # Nobody in social work answers: the step names who does, never a service that opens later.
        assert "out-of-hours" not in steps[0] and "police on 101" in steps[0]
    else:
        assert "out-of-hours social work" in steps[0]
    assert "designated person" not in steps[0]
    assert any("designated person" in s and s.startswith("When next available") for s in steps)
    assert not any(s.startswith("Next working day") for s in steps)
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
        ({"ticks": ("assault",)}, "assault_recent_child", ["call the police", "A&E", "evidence"]),
        (
            {"ticks": ("assault",), "answers": {"assault_when": "earlier"}},
            "assault",
            ["do not examine", "health care"],
        ),
        ({"age": "16_17", "ticks": ("assault",)}, "assault_recent_16", ["SARCS", "Child protection"]),
        ({"age": "adult", "ticks": ("assault",)}, "assault_recent_adult", ["SARCS", "their choice"]),
        (
            {"age": "under_13", "ticks": ("under13_sexual",)},
            "under_13",
            ["cannot consent", "social work and the police"],
        ),
        ({"age": "under_13", "ticks": ("under13_sexual",)}, "under_13_advice", ["contraception"]),
        ({"age": "unknown", "ticks": ("older_partner",)}, "under_13", ["cannot consent"]),
        ({"ticks": ("missing_now",)}, "missing_now", ["report them missing to the police", "999"]),
        ({"ticks": ("pregnancy_sti",)}, "pregnancy_sti", ["health care"]),
        ({"ticks": ("pregnancy_sti",)}, "under_16_law", ["anyone aged 16 or over", "crime"]),
        ({"ticks": ("self_harm",)}, "wellbeing", ["NHS 24", "111"]),
        (
            {"ticks": ("sexual_images",)},
            "sexual_images",
            ["don't panic, don't pay, get help", "Report Remove", "Do not view"],
        ),
        ({"ticks": ("trafficking",)}, "trafficking", ["National Referral Mechanism"]),
        ({"age": "adult", "ticks": ("trafficking",)}, "trafficking_adult", ["informed consent"]),
        ({"age": "16_17"}, "sixteen", ["up to 18", "position of trust", "established relationship"]),
        ({"ticks": ("internet",)}, "online", ["CEOP"]),
        ({"age": "adult", "ticks": ("internet",)}, "online_adult", ["101"]),
        ({"age": "adult"}, "adult", ["know or believe", "council"]),
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
    add = next(a for a in content.addenda if a.id == block)
    shown = outcome(flow, example, IN_HOURS, **answers)  # type: ignore[arg-type]
    text = str(shown)
    assert block in [a.id for a in evaluate(content, walk(flow, **answers)).addenda]  # type: ignore[arg-type]
    if add.lines:
        assert add.title in [s.title for s in shown.sections]
    for word in words:
        assert word.lower() in text.lower(), word
    quiet = outcome(flow, example, IN_HOURS, ticks=("poverty",))
    assert add.title not in [s.title for s in quiet.sections]


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
    assert "Adult Support and Protection" in text
    # The duty is "knows or believes"; the council, not the practitioner, applies the test.
    assert "adult at risk" in text and "council" in text
    child = str(outcome(flow, example, IN_HOURS, age="16_17", **CASES[level]))  # type: ignore[arg-type]
    assert "Child protection is for under-18s" not in child


def test_sixteen_and_seventeen_stay_in_child_protection_with_asp_only_on_the_test(
    flow: Flow, example: YamlDirectory
) -> None:
    text = str(outcome(flow, example, IN_HOURS, age="16_17", ticks=("disclosure",)))
    assert "child protection response" in text
    assert "Adult Support and Protection can also apply from 16" in text


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


# -- act now, the adult route and who is on duty (issue 20) -------------------------------------------
AGES = ["under_13", "13_15", "16_17", "adult", "unknown"]


@pytest.mark.parametrize("age", AGES)
@pytest.mark.parametrize("now", [IN_HOURS, *OUT_OF_HOURS])
@pytest.mark.parametrize("extra", [(), ("disclosure", "poverty")])
def test_missing_right_now_always_leads_with_reporting_to_the_police_now(
    flow: Flow, example: YamlDirectory, age: str, now: dt.datetime, extra: tuple[str, ...]
) -> None:
    screen = outcome(flow, example, now, age=age, ticks=("missing_now", *extra))
    assert screen.level == "act_now"
    assert screen.title.startswith("🚓 Act now")
    first = section(screen, "numbered").lines[0]
    assert first.startswith("Now: Report them missing to the police now"), first
    assert "999" in first and "101" in first
    # ... and before the contacts and any situation block.
    titles = [s.title for s in screen.sections]
    assert titles.index(section(screen, "numbered").title) < titles.index(flow.content.texts.contacts_title)


@pytest.mark.parametrize("now", [IN_HOURS, EVENING])
def test_danger_and_missing_now_keeps_999_first(flow: Flow, example: YamlDirectory, now: dt.datetime) -> None:
    steps = section(outcome(flow, example, now, danger="yes", ticks=("missing_now",)), "numbered").lines
    assert steps[0].startswith("Now: Call 999")
    assert any(s.startswith("Now: Report them missing") for s in steps[1:3])


@pytest.mark.parametrize(
    ("age", "self_referral"), [("13_15", False), ("under_13", False), ("16_17", True), ("adult", True)]
)
@pytest.mark.parametrize("when", ["recent", "unsure"])
def test_a_recent_assault_acts_now_with_injuries_first_and_self_referral_only_from_16(
    flow: Flow, example: YamlDirectory, age: str, self_referral: bool, when: str
) -> None:
    screen = outcome(flow, example, EVENING, age=age, ticks=("assault",), answers={"assault_when": when})
    assert screen.level == "act_now"
    steps = section(screen, "numbered").lines
    assert steps[0].startswith("Now: Call 999, or go to A&E") and "strangled" in steps[0]
    assert "police" in steps[1]
    text = str(screen)
    assert ("SARCS" in text) == self_referral
    if not self_referral:
        assert "never by self-referral" in text
    earlier = outcome(
        flow, example, EVENING, age=age, ticks=("assault",), answers={"assault_when": "earlier"}
    )
    assert earlier.level == "urgent" and "SARCS" not in str(earlier)


CHILD_ONLY_WORDS = ("Childline", "NSPCC", "CEOP", "Report Remove", "IRD", "inter-agency referral")


@pytest.mark.parametrize("now", [IN_HOURS, EVENING, GAP])
@pytest.mark.parametrize(
    "answers",
    [
        {"danger": "yes"},
        {"ticks": ("missing_now",)},
        {"ticks": ("assault",)},
        {"ticks": ("assault",), "answers": {"assault_when": "earlier"}},
        {"ticks": ("sexual_images", "internet", "phones", "trafficking")},
        {"ticks": ("money_gifts", "self_harm", "poverty", "learning_disability")},
        {"ticks": ("callers",)},
        {},
    ],
)
def test_no_adult_outcome_names_a_child_only_service_or_a_child(
    flow: Flow, content: Content, example: YamlDirectory, now: dt.datetime, answers: dict[str, object]
) -> None:
    screen = outcome(flow, example, now, age="adult", **answers)  # type: ignore[arg-type]
    advice = [s for s in screen.sections if s.style != "contacts"]
    text = " ".join(line for s in advice for line in s.lines) + screen.title
    names = " ".join(c.name for c in contacts(screen))
    for word in CHILD_ONLY_WORDS:
        assert word not in text and word not in names, word
    # "child" only where the adult route says what it is not, or others (children) are at risk.
    allowed = ("Child protection is for under-18s", "such as children", "child or adult")
    for s in advice:
        for line in s.lines:
            if "child" in line.lower():
                assert any(a in line for a in allowed), line
    steps = section(screen, "numbered").lines
    assert not any("child protection" in s.lower() for s in steps), steps


@pytest.mark.parametrize("now", [EVENING, HOLIDAY])
def test_an_urgent_adult_concern_out_of_hours_goes_to_adult_protection_now(
    flow: Flow, example: YamlDirectory, now: dt.datetime
) -> None:
    steps = section(outcome(flow, example, now, age="adult", ticks=("disclosure",)), "numbered").lines
    assert (
        steps[0].startswith("Now:") and "out-of-hours social work" in steps[0] and "adult at risk" in steps[0]
    )
    assert not any(
        s.startswith(("Next working day", "By the next working day")) and "adult" in s for s in steps
    )


def test_the_adult_emergency_has_adult_protection_straight_after_999(
    flow: Flow, example: YamlDirectory
) -> None:
    steps = section(outcome(flow, example, IN_HOURS, age="adult", danger="yes"), "numbered").lines
    assert steps[0].startswith("Now: Call 999")
    protection = next(i for i, s in enumerate(steps) if "adult at risk" in s)
    assert steps[protection].startswith("Straight after")


@pytest.mark.parametrize("level", ["act_now", "urgent", "concern", "no_current_indicators"])
def test_a_designated_person_outside_their_hours_is_never_now(
    flow: Flow, example: YamlDirectory, level: str
) -> None:
    directory = example  # its school coordinator keeps school hours: open 08:30-16:00 on weekdays
    half_four = dt.datetime(2026, 12, 2, 16, 30)  # Wednesday: school shut, council office open to 16:45
    assert directory.route(half_four).in_hours and not directory.designated_now("education", half_four)
    screen = outcome(flow, directory, half_four, **CASES[level])  # type: ignore[arg-type]
    steps = section(screen, "numbered").lines
    now_lines = [s for s in steps if s.startswith(("Now", "Straight after", "If you fear"))]
    assert not any("designated person" in s for s in now_lines), steps
    assert any("designated person" in s and s.startswith("When next available") for s in steps), steps
    assert "social work office" in " ".join(now_lines)
    lines = contacts(screen)
    assert lines[-1].detail is not None and lines[-1].detail.startswith("when next available")
    # At 15:00 the same person is reachable and comes first.
    three = outcome(flow, directory, dt.datetime(2026, 12, 2, 15, 0), **CASES[level])  # type: ignore[arg-type]
    if level in ("urgent", "concern"):
        assert "designated person" in section(three, "numbered").lines[0]


def test_a_web_only_service_shows_its_address_as_the_action(flow: Flow, example: YamlDirectory) -> None:
    from bot.render import to_html_parts, to_text

    screen = outcome(flow, example, IN_HOURS, ticks=("internet",))
    for text in (to_text(screen), "".join(to_html_parts(screen))):
        line = next(x for x in text.splitlines() if "CEOP" in x and "ceop.police.uk" in x)
        assert "ceop.police.uk/ceop-reporting" in line and "(" not in line and ":  " not in line, line
