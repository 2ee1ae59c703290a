"""What a committee relies on to govern the bot: anonymous figures for admins only, review dates,
the flow diagram and the printable quick reference kept in step with the content."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from bot.render import to_text
from bot.stats import review_overdue, stats_screen
from flows.contacts import EXAMPLE_CONTACTS, load_directory
from flows.diagram import mermaid
from flows.machine import Flow
from flows.reference import quick_reference, quick_reference_html
from flows.schema import Content
from testkit.telegram_harness import running_bot

ADMIN = 7770001
OTHER = 7770002


async def test_stats_are_for_admins_only_and_count_without_identifying_anyone() -> None:
    async with running_bot(admin_user_ids=[ADMIN]) as bot:
        await bot.walk_to_outcome(ADMIN, ticks=("Controlling adult",))
        await bot.walk_to_outcome(OTHER, service="Health (NHS)")
        await bot.send(OTHER, "/check")
        await bot.send(OTHER, "/check")  # started again before any answer: not a check left
        await bot.tap(OTHER, "No")
        await bot.send(OTHER, "/cancel")  # answered, never finished: abandoned
        await bot.send(OTHER, "/indicators")
        await bot.send(OTHER, "/stats")
        refused = bot.last_text(OTHER)
        assert "/emergency" in refused and "Use in the last" not in refused, "others get the normal help"
        await bot.send(ADMIN, "/stats")
        figures = bot.last_text(ADMIN)
        assert "Finished: 2" in figures
        assert "urgent: 1" in figures and "no current indicators: 1" in figures
        assert "abandoned: 1" in figures
        assert "By service: education 1, health 1" in figures
        assert "/indicators: 1" in figures
        assert str(OTHER) not in figures and str(ADMIN) not in figures
        menu = [c["command"] for c in bot.api.of("setMyCommands")[0]["commands"]]
        assert "stats" not in menu, "no hint that the command exists"


def test_review_date_passed_is_flagged_and_the_bot_keeps_working(content: Content) -> None:
    due = content.meta.review_due
    assert review_overdue(content, due) is None
    warning = review_overdue(content, due + dt.timedelta(days=1))
    assert warning is not None and "due for review" in warning
    screen = stats_screen(content, [], [], today=due + dt.timedelta(days=1), weeks=8)
    assert "due for review" in to_text(screen)
    assert "No checks counted" in to_text(screen)


async def test_about_shows_version_review_owner_and_sources_first_the_briefing(content: Content) -> None:
    async with running_bot() as bot:
        await bot.send(ADMIN, "/about")
        about = bot.texts(ADMIN)  # a long page comes as more than one message
        assert f"Content version {content.meta.version}" in about
        assert f"{content.meta.reviewed_on:%d %B %Y}" in about and content.meta.owner in about
        release = content.release()
        assert release is not None and release.approved_by is not None
        assert release.approved_by in about and f"{content.meta.review_due:%d %B %Y}" in about
        assert "not a risk assessment tool" in about and "not a medical device" in about
        sources = about[about.index("Sources") :]
        assert sources.index("7 Minute Briefing") < sources.index("National Guidance")


ROOT = Path(__file__).resolve().parents[2]


def test_flow_diagram_in_docs_is_generated_from_the_machine_and_current(content: Content) -> None:
    flow = Flow(content, load_directory(EXAMPLE_CONTACTS).services)
    diagram = mermaid(flow)
    assert (ROOT / "docs" / "flow.mmd").read_text(encoding="utf-8") == diagram, (
        "docs/flow.mmd is stale: run `cse-triage diagram --out docs`"
    )
    # Every transition the machine has is drawn, and nothing else.
    for state in flow.states:
        assert state in diagram
    assert "danger --> danger_alert: answer" in diagram and "vuln_2 --> outcome: answer / done" in diagram


def test_quick_reference_in_docs_is_current_and_complete(content: Content) -> None:
    example = load_directory(EXAMPLE_CONTACTS)
    text = quick_reference(content, example)
    assert (ROOT / "docs" / "quick-reference.md").read_text(encoding="utf-8") == text, (
        "docs/quick-reference.md is stale: run `cse-triage reference --out docs` (no CONTACTS_FILE)"
    )
    html = quick_reference_html(content, example)
    assert (ROOT / "docs" / "quick-reference.html").read_text(encoding="utf-8") == html, (
        "docs/quick-reference.html is stale: run `cse-triage reference --out docs` (no CONTACTS_FILE)"
    )
    for item in (*content.indicators, *content.factors):
        assert item.label in text
    for outcome in content.outcomes.values():
        for said in (outcome, *outcome.variants):  # the child's route and the adult's
            assert said.title in text
            # What to do first, by level (later steps are on every outcome in the check; when the
            # designated person cannot be reached, one line per route says who answers instead).
            first = [step for step in said.do_now if step.when not in ("today", "any_time", "for_records")]
            assert all(step.text in text or "{" in step.text for step in first)
    assert f"## {content.texts.adult_title}" in text, "the adult route has its own section"
    assert content.texts.who_now.out_of_hours in text and content.texts.who_now_adult.out_of_hours in text
    for block in content.addenda:
        assert block.title in text and all(line in text for line in block.lines)
        assert all(action.text in text for action in block.actions)
    assert "999" in text.split("\n\n")[1], "999 comes straight after the title"
    assert content.disclaimer in text and content.meta.version in text
    # The fallback when the bot is down: the deploying organisation's own numbers, marked while
    # they are the example's, and no bot commands that would mean nothing on paper.
    for line in example.reference_lines():
        assert line.phone is None or f"**{line.phone}**" in text
    assert "01786 470500" in text and "Example contacts only" in text
    assert not re.search(r"(?<![\w./:])/[a-z]+", text), "no bot commands on paper"
    assert "@media print" in html and "size: A4" in html
    # Two A4 pages: with the adult route and "checked on" dates it is about 2,050 words, which
    # Chromium prints on 2 pages at 8 pt in two columns (print-to-PDF, 2026-12-06: `chromium
    # --headless --print-to-pdf=out.pdf docs/quick-reference.html`); held here by length.
    assert len(re.sub(r"[*#_-]", " ", text).split()) <= 2100


def test_safety_case_names_tests_that_exist() -> None:
    text = (ROOT / "docs" / "safety-case.md").read_text(encoding="utf-8")
    cited = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", text)
    assert len(cited) >= 20
    hazards = re.findall(r"^\| (H\d+) \|", text, flags=re.MULTILINE)
    assert len(hazards) >= 8
    for path, name in cited:
        source = (ROOT / path).read_text(encoding="utf-8")
        assert re.search(rf"^(async )?def {name}\(", source, flags=re.MULTILINE), f"{path}::{name} is gone"
