"""Plain words, measured: every screen a practitioner reads scores at least 60 on the Flesch
reading ease scale (textstat), and every button label fits a phone (36 characters).

Contact lists (names of services and numbers) are not prose and are not scored. Documented
exceptions, each with its reason:
- the "about" lookup: source titles and web addresses, quoted as published;
- the "help" lookup: a list of Telegram command names (/emergency, /indicators ...).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import textstat

from flows.contacts import EXAMPLE_CONTACTS, load_directory
from flows.machine import Flow
from flows.schema import Content
from flows.screens import LOOKUPS, Context, Screen, Screens
from testkit.walk import walk

PLAIN = 60
BUTTON_LIMIT = 36
EXCEPTIONS = {"look:about": "source titles and addresses", "look:help": "Telegram command names"}
IN_HOURS = dt.datetime(2026, 12, 2, 10, 0)
EVENING = dt.datetime(2026, 12, 2, 21, 0)


def prose(screen: Screen) -> str:
    """What the practitioner reads, less contact lists: title, section titles and lines."""
    parts = [screen.title]
    for sec in screen.sections:
        if sec.style != "contacts":
            parts += [*((sec.title,) if sec.title else ()), *sec.lines]
    return "\n".join(p for p in parts if p)


def every_screen(content: Content) -> Iterator[tuple[str, Screen]]:
    directory = load_directory(EXAMPLE_CONTACTS)
    flow = Flow(content, directory.services)
    screens = Screens(flow)
    ctx = Context(directory, IN_HOURS)
    for step in flow.steps:
        conv = flow.new()
        conv.state = step.id
        yield step.id, screens.for_conversation(conv, ctx)
    for name in LOOKUPS:
        yield f"look:{name}", screens.lookup(name, ctx)
    t = content.texts
    for key in ("stale", "typed", "unavailable", "failure", "forgotten"):
        yield f"notice:{key}", screens.notice(getattr(t, key), ctx, with_contacts=True)
    yield "cancelled", screens.cancelled(ctx)
    yield "feedback", screens.feedback_thanks(ctx)
    yield "welcome", screens.welcome(ctx)
    every_block = tuple(i.id for i in content.indicators if i.strong) + ("internet",)
    cases = {
        "emergency": {"danger": "yes"},
        "urgent": {"ticks": every_block},
        "concern": {"ticks": ("poverty",)},
    }
    cases["no_current_indicators"] = {}
    for level, answers in cases.items():
        for age in ("under_13", "13_15", "16_17", "adult", "unknown"):
            for now in (IN_HOURS, EVENING):
                conv = walk(flow, age=age, **answers)  # type: ignore[arg-type]
                yield f"{level}/{age}/{now:%H}h", screens.outcome(conv, Context(directory, now, "education"))


def test_every_screen_reads_plainly(content: Content) -> None:
    scores = {key: textstat.flesch_reading_ease(prose(screen)) for key, screen in every_screen(content)}
    hard = {key: score for key, score in scores.items() if score < PLAIN and key not in EXCEPTIONS}
    assert not hard, f"screens below Flesch {PLAIN}: {hard}"
    assert len(scores) > 60


def test_a_hard_screen_is_caught(content: Content) -> None:
    """The measure tells plain from dense wording (so the test above can fail)."""
    dense = (
        "Notwithstanding organisational considerations, practitioners should contemporaneously"
        " document observations."
    )
    assert textstat.flesch_reading_ease(dense) < PLAIN
    assert textstat.flesch_reading_ease(content.texts.emergency_lines[0]) >= PLAIN


@pytest.mark.parametrize("key", sorted(EXCEPTIONS))
def test_exceptions_are_still_needed(content: Content, key: str) -> None:
    screen = dict(every_screen(content))[key]
    assert textstat.flesch_reading_ease(prose(screen)) < PLAIN, f"{key} reads plainly now: drop the exception"


def test_every_button_fits_a_phone(content: Content) -> None:
    long = [
        (key, b.label)
        for key, screen in every_screen(content)
        for row in screen.buttons
        for b in row
        if len(b.label) > BUTTON_LIMIT
    ]
    assert not long
