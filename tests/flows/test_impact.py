"""`cse-triage impact OLD NEW`: what a content change does to every answer the rules can tell
apart. Checked against brute force (every possible answer walked through the real flow) on small
contents drawn by hypothesis, and end to end on the shipped content and case library."""

from __future__ import annotations

import copy
import itertools
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cli import main
from flows.cases import moments
from flows.contacts import EXAMPLE_CONTACTS, load_directory
from flows.impact import Outcomes, Shown, answer_space, compare
from flows.machine import OUTCOME, Flow
from flows.schema import DEFAULT_CONTENT, Condition, Content, Item, parse_content
from testkit.sizes import scale

DIRECTORY = load_directory(EXAMPLE_CONTACTS)
SHIPPED: dict[str, Any] = yaml.safe_load(DEFAULT_CONTENT.read_text(encoding="utf-8"))
LIBRARY = DEFAULT_CONTENT.with_name("cases.yaml")
SIGNS, VULN = ["s1", "s2", "s3"], ["f1", "f2"]
AGES = ["under_13", "13_15", "adult"]

# -- small contents ----------------------------------------------------------------------------
leaf = st.one_of(
    st.builds(
        lambda a: {"step": "age", "any_of": a}, st.lists(st.sampled_from(AGES), min_size=1, unique=True)
    ),
    st.builds(lambda b: {"any_indicator": b}, st.booleans()),
    st.builds(lambda b: {"any_factor": b}, st.booleans()),
    st.builds(lambda b: {"any_strong": b}, st.booleans()),
    st.builds(lambda i: {"items_any": i}, st.lists(st.sampled_from(SIGNS + VULN), min_size=1, unique=True)),
    st.builds(
        lambda s: {"unsure_any": s}, st.lists(st.sampled_from(["signs", "vuln"]), min_size=1, unique=True)
    ),
    st.builds(lambda n: {"indicators_at_least": n}, st.integers(1, 3)),
    st.builds(lambda n: {"indicators_at_least": n}, st.integers(2, 3)),  # counts matter: drawn more
)
# Issue 20's kinds, where the schema has them: a named condition, signs specific to exploitation.
if "specific_at_least" in Condition.model_fields:
    leaf = st.one_of(
        leaf,
        st.builds(lambda n: {"specific_at_least": n}, st.integers(1, 2)),
        st.just({"is": "adult"}),
    )
condition = st.one_of(
    leaf,
    st.builds(
        lambda k, subs: {k: subs}, st.sampled_from(["all", "any"]), st.lists(leaf, min_size=2, max_size=2)
    ),
)
LEVELS = ["emergency", "urgent", "concern", "no_current_indicators"]


@st.composite
def small_content(draw: st.DrawFn) -> dict[str, Any]:
    """The parts that differ (which signs are serious, the rules, the situation blocks): small, so
    that hypothesis shows and shrinks them quickly. :func:`build` makes the content."""
    return {
        "strong": draw(st.lists(st.sampled_from([False, False, True]), min_size=3, max_size=3)),
        "general": draw(st.lists(st.booleans(), min_size=3, max_size=3)),
        "rules": draw(st.lists(st.tuples(st.sampled_from(LEVELS[1:3]), condition), max_size=4)),
        "addenda": draw(
            st.lists(
                st.tuples(
                    condition, st.lists(st.sampled_from(["police_101", "ceop", "police_999"]), unique=True)
                ),
                max_size=2,
            )
        ),
    }


def build(parts: dict[str, Any]) -> Content:
    data = copy.deepcopy(SHIPPED)
    strong = parts["strong"]
    data["indicators"] = [
        {"id": i, "label": f"Sign {i}", "help": "A sign.", "strong": s}
        for i, s in zip(SIGNS, strong, strict=True)
    ]
    if "general" in Item.model_fields:  # issue 20: a general sign of harm is never a serious one
        for item, general in zip(data["indicators"], parts.get("general", []), strict=False):
            item["general"] = general and not item["strong"]
    data["factors"] = [{"id": f, "label": f"Factor {f}", "help": "A factor."} for f in VULN]
    age = next(s for s in data["steps"] if s["id"] == "age")
    age["options"] = [o for o in age["options"] if o["code"] in AGES]
    danger = next(s for s in data["steps"] if s["id"] == "danger")
    danger["options"] = [o for o in danger["options"] if o["code"] != "unsure"]
    alert = next(s for s in data["steps"] if s["id"] == "danger_alert")
    alert["show_if"] = {"step": "danger", "any_of": ["yes"]}
    data["steps"] = [
        danger,
        alert,
        age,
        {"id": "signs", "kind": "multi", "title": "Signs", "text": "Any?", "items": SIGNS},
        {"id": "vuln", "kind": "multi", "title": "Vulnerable", "text": "Any?", "items": VULN},
    ]
    rules = [{"id": "E1", "level": "emergency", "when": {"step": "danger", "any_of": ["yes"]}, "reason": "r"}]
    for n, (level, when) in enumerate(parts["rules"]):
        rules.append({"id": f"R{n}", "level": level, "when": when, "reason": "r"})
    data["rules"] = rules
    if "conditions" in data:  # named conditions (issue 20): only those these steps can answer
        data["conditions"] = {"adult": {"step": "age", "any_of": ["adult"]}}
    data["addenda"] = [
        {
            "id": f"b{n}",
            "when": when,
            "title": "Block",
            "lines": ["A line."],
            "contacts": roles,
            "source": "s",
        }
        for n, (when, roles) in enumerate(parts["addenda"])
    ]
    return parse_content(data)


def brute_force(old: Content, new: Content) -> set[tuple[Shown, Shown]]:
    """Every possible answer, tapped through each file's real flow, and what each file shows."""
    when = moments(DIRECTORY)
    flows = [Flow(c, DIRECTORY.services) for c in (old, new)]
    outs = [Outcomes(f, DIRECTORY, when) for f in flows]
    seen = set()
    subsets = [set(x) for n in range(4) for x in itertools.combinations(SIGNS, n)]
    vsubsets = [set(x) for n in range(3) for x in itertools.combinations(VULN, n)]
    paths = [("yes", "skip", "13_15")] + [(d, "continue", age) for d in ("yes", "no") for age in AGES]
    for danger, alert, age in paths:
        for signs, s_unsure, vuln, v_unsure in itertools.product(subsets, [0, 1], vsubsets, [0, 1]):
            if alert == "skip" and (signs or s_unsure or vuln or v_unsure):
                continue  # "Show what to do now" skips every later step
            shown = []
            for flow, out in zip(flows, outs, strict=True):
                conv = flow.new()
                assert flow.fire(conv, "start")
                while conv.state != OUTCOME:
                    step = flow.step(conv.state)
                    if step.kind == "multi":
                        ticks, unsure = (signs, s_unsure) if step.id == "signs" else (vuln, v_unsure)
                        for item in sorted(ticks):
                            assert flow.fire(conv, "toggle", item)
                        assert flow.fire(conv, "answer", "unsure") if unsure else flow.fire(conv, "done")
                    else:
                        code = {"danger": danger, "danger_alert": alert, "age": age}.get(step.id)
                        assert flow.fire(conv, "answer", code or flow.options(step)[0][0])
                shown.append(out.shown(conv))
            seen.add((shown[0], shown[1]))
    return seen


# Brute force over every answer of two small contents: 8 pairs in make test, 20 in make soak.
@pytest.mark.slow
@settings(max_examples=scale(8, 20), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_content(), small_content())
def test_the_classes_find_exactly_what_brute_force_finds(
    old_parts: dict[str, Any], new_parts: dict[str, Any]
) -> None:
    old, new = build(old_parts), build(new_parts)
    impact = compare(old, new, DIRECTORY)
    when = moments(DIRECTORY)
    outs = [Outcomes(Flow(c, DIRECTORY.services), DIRECTORY, when) for c in (old, new)]
    everything = brute_force(old, new)
    assert impact.classes <= 2 * 2 * 3 * 8 * 2 * 4 * 2, "never more classes than answers"
    # Every kind of (old, new) outcome any answer can get, the classes get, and no other.
    by_class = {
        (outs[0].shown(a), outs[1].shown(b))
        for _, a, b in answer_space(old, new, Flow(old, DIRECTORY.services), Flow(new, DIRECTORY.services))
    }
    assert by_class == everything

    # The rules that decided a level may change with nothing a practitioner sees: not a change.
    def seen(x: Shown) -> tuple[Any, ...]:
        return (x.level, x.first, x.roles)

    changed = {(seen(c.old), seen(c.new)) for c in impact.changes}
    assert changed == {(seen(a), seen(b)) for a, b in everything if seen(a) != seen(b)}


# -- end to end, on small contents (fast whatever the shipped content holds) ------------------
CASE = {
    "id": "danger-now",
    "situation": "A 14-year-old is held in a flat and cannot leave.",
    "answers": {"danger": "yes", "danger_alert": "skip"},
    "expect": {"level": "emergency", "first_step": {"in_hours": "999"}},
    "reason": "Immediate danger goes to the police without delay.",
    "source": "NG 3.8 and 3.9",
}
BASE = {"strong": [True, False, False], "rules": [("urgent", {"any_strong": True})], "addenda": []}


def write(tmp_path: Path, name: str, content: Content | dict[str, Any]) -> Path:
    data = (
        content.model_dump(mode="json", by_alias=True, exclude_none=True)
        if isinstance(content, Content)
        else content
    )
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def test_impact_of_a_change_that_moves_a_case_lists_it_and_fails(tmp_path: Path) -> None:
    old = build(BASE)
    lowered = [r.model_copy(update={"level": "urgent"}) if r.id == "E1" else r for r in old.rules]
    new = old.model_copy(update={"rules": lowered})
    cases = write(tmp_path, "cases.yaml", {"cases": [CASE]})
    out_file = tmp_path / "impact.md"
    args = [str(write(tmp_path, "old.yaml", old)), str(write(tmp_path, "new.yaml", new))]
    assert main(["impact", *args, "--cases", str(cases), "--out", str(out_file)]) == 1
    report = out_file.read_text(encoding="utf-8")
    assert "| emergency | urgent |" in report and "| E1 |" in report
    assert "danger-now" in report and "level emergency -> urgent" in report
    assert "danger=yes" in report, "a representative answer"
    assert "Coverage of the new content" in report


def test_impact_of_no_change_is_empty_and_passes_and_html_is_a_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = write(tmp_path, "old.yaml", build(BASE))
    assert main(["impact", str(old), str(old), "--format", "html"]) == 0
    page = capsys.readouterr().out
    assert (
        page.startswith("<!doctype html>") and "0 classes change" in page and "No library case moves" in page
    )


@pytest.mark.slow  # runs git
def test_a_git_revision_is_read_as_the_content_file_then(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.commands.files import content_at
    from bot.config import load_settings

    monkeypatch.chdir(DEFAULT_CONTENT.parents[2])
    content, name = content_at("HEAD", load_settings())
    assert name == "HEAD:flows/content/cse.yaml" and content.rules
    with pytest.raises(Exception, match="nor a git revision"):
        content_at("no-such-revision-here", load_settings())


def test_an_answer_space_too_big_to_walk_is_refused_with_what_to_do(tmp_path: Path) -> None:
    from flows.impact import ImpactError

    old = build(BASE)
    # This small content has 9 classes of answers: a budget of 5 walks stops it, with what to do.
    with pytest.raises(ImpactError, match="over the budget of 5: raise it with --budget"):
        compare(old, old, DIRECTORY, budget=5)
    assert compare(old, old, DIRECTORY).classes == 9
