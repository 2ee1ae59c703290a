"""The case library (flows/content/cases.yaml) runs as tests: every practitioner case lands on
its expected level, first step, contacts and situation blocks, in and out of hours."""

from __future__ import annotations

import pytest

from flows.cases import Case, CasesError, coverage, load_cases, moments, parse_cases, run_case, run_library
from flows.contacts import EXAMPLE_CONTACTS, load_directory
from flows.machine import Flow
from flows.schema import DEFAULT_CONTENT, Content

LIBRARY = DEFAULT_CONTENT.with_name("cases.yaml")
CASES = load_cases(LIBRARY)
DIRECTORY = load_directory(EXAMPLE_CONTACTS)


@pytest.mark.parametrize("case", [c for c in CASES if c.disputed is None], ids=lambda c: c.id)
def test_library_case(content: Content, case: Case) -> None:
    flow = Flow(content, DIRECTORY.services)
    run = run_case(flow, DIRECTORY, case, moments(DIRECTORY))
    assert not run.problems, f"{case.id} ({case.situation}): " + "; ".join(run.problems)


def test_a_content_change_that_moves_a_case_fails_it(content: Content) -> None:
    """Lowering one rule's level (E1, danger now) moves the library's emergency case."""
    rules = [r.model_copy(update={"level": "urgent"}) if r.id == "E1" else r for r in content.rules]
    changed = content.model_copy(update={"rules": rules})
    runs = run_library(Flow(changed, DIRECTORY.services), DIRECTORY, CASES)
    moved = [r for r in runs if any("level: expected emergency, got urgent" in p for p in r.problems)]
    assert moved, "no case noticed danger now no longer being an emergency"


def test_every_period_of_the_example_contacts_has_a_moment() -> None:
    when = moments(DIRECTORY)
    assert DIRECTORY.route(when["in_hours"]).in_hours  # type: ignore[arg-type]
    out = DIRECTORY.route(when["out_of_hours"])  # type: ignore[arg-type]
    assert not out.in_hours and not out.gap
    assert DIRECTORY.route(when["cover_gap"]).gap  # type: ignore[arg-type]


def test_a_case_that_does_not_fit_the_flow_says_why(content: Content) -> None:
    case = parse_cases(
        {
            "cases": [
                {
                    "id": "x",
                    "situation": "s",
                    "answers": {"danger": "no"},
                    "ticked": ["no_such_item"],
                    "expect": {"level": "urgent"},
                    "reason": "r",
                    "source": "s",
                }
            ]
        }
    )[0]
    run = run_case(Flow(content, DIRECTORY.services), DIRECTORY, case, moments(DIRECTORY))
    assert run.problems == [
        "the case does not answer step 'age' (options: under_13, 13_15, 16_17, adult, unknown)"
    ]
    with pytest.raises(CasesError, match="duplicate case id"):
        parse_cases({"cases": [case.model_dump(), case.model_dump()]})


def test_coverage_names_what_the_library_misses(content: Content) -> None:
    runs = run_library(Flow(content, DIRECTORY.services), DIRECTORY, CASES[:1])
    cov = coverage(content, DIRECTORY.services, runs)
    assert cov.covered["rules"] == ["E1"]
    assert "U1" in cov.missed["rules"] and "emergency/base/in_hours" in cov.covered["outcome variants"]
    assert any(line.startswith("rules: 1 of") for line in cov.lines())
