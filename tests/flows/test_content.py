"""The shipped content is complete, faithful to the briefing, and short enough for a phone;
a broken content file is refused with an error naming the file, the path and the problem."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from flows.schema import DEFAULT_CONTENT, Content, ContentError, load_content, parse_content

BUTTON_LIMIT = 36
HELP_WORDS = 30


def raw() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DEFAULT_CONTENT.read_text(encoding="utf-8"))
    return data


def test_briefing_lists_are_complete(content: Content) -> None:
    # The briefing's 14 indicators and 15 factors, plus the National Guidance's additions, each
    # of which names its source.
    assert len([i for i in content.indicators if i.source is None]) == 14
    added = {i.id for i in content.indicators if i.source is not None}
    assert {"older_partner", "under13_sexual", "sexual_images", "vehicles", "trafficking"} <= added
    assert all(content.item(i).strong for i in added), "each addition is a significant indicator"
    assert len([f for f in content.factors if f.source is None]) == 15
    # Added from the National Guidance: being looked after ("care experience").
    assert {f.id for f in content.factors if f.source is not None} == {"looked_after"}
    asked = {i for s in content.steps if s.kind == "multi" for i in s.items}
    # Every indicator is asked; every factor is asked itself or as the indicator it duplicates.
    assert {i.id for i in content.indicators} <= asked
    for f in content.factors:
        assert (f.id in asked) != bool(f.asked_as), f.id
        assert set(f.asked_as) <= {i.id for i in content.indicators}


@pytest.mark.parametrize("theme", ["drug", "isolat", "exclu"])
def test_overlapping_items_are_asked_once(content: Content, theme: str) -> None:
    asked = [content.item(i) for s in content.steps if s.kind == "multi" for i in s.items]
    hits = [it for it in asked if theme in f"{it.id} {it.label}".lower()]
    assert len(hits) == 1, hits
    assert hits[0].id in content.indicator_ids


def test_missing_is_asked_as_now_and_before_and_counts_for_the_factor(content: Content) -> None:
    asked = [i for s in content.steps if s.kind == "multi" for i in s.items]
    assert [i for i in asked if "missing" in i] == ["missing_now", "missing"]
    assert set(content.item("missing_from_home").asked_as) == {"missing_now", "missing"}


def test_strongest_indicators_come_first(content: Content) -> None:
    order = [i for s in content.steps if s.kind == "multi" for i in s.items if i in content.indicator_ids]
    strong = [i.id for i in content.indicators if i.strong]
    assert {"disclosure", "assault", "pregnancy_sti", "controlling_adult"} <= set(strong)
    assert order[: len(strong)] == strong


def test_labels_fit_a_phone_button(content: Content) -> None:
    mark = content.multi_controls.picked_mark
    labels = [f"{mark} {i.label}" for i in (*content.indicators, *content.factors)]
    labels += [o.label for s in content.steps for o in s.options]
    labels += [content.multi_controls.none, content.multi_controls.unsure, content.multi_controls.done]
    t = content.texts
    labels += [t.start_button, t.emergency_button, t.new_check_button, t.clear_button, t.continue_button]
    too_long = [label for label in labels if len(label) > BUTTON_LIMIT]
    assert not too_long


def test_help_lines_are_one_short_line(content: Content) -> None:
    for item in (*content.indicators, *content.factors):
        assert len(item.help.split()) <= HELP_WORDS, item.id
        assert "\n" not in item.help


def test_briefing_response_and_tools_are_named(content: Content) -> None:
    text = yaml.safe_dump(raw())
    for name in (
        "Joint Assessment Tool",
        "Vulnerability Checklist and Risk Factor Matrix",
        "National Risk Assessment Framework",
        "National Practice Model",
        "designated person for child protection",
        "Girls aged 13 to 17",
        "complete strangers",
    ):
        assert name in text, name
    assert len(content.lookups.whatis.forms) == 4


def test_emoji_only_where_they_carry_meaning(content: Content) -> None:
    # Emoji may mark danger, levels, online, contacts and picked items; never decorate items.
    emoji = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf]")
    for item in (*content.indicators, *content.factors):
        assert not emoji.search(item.label + item.help), item.id


def test_content_has_version_review_date_and_sources(content: Content) -> None:
    assert content.meta.version
    assert content.meta.reviewed_on <= content.meta.review_due
    assert "7 Minute Briefing" in content.meta.sources[0].title


def broken(mutate: Any) -> str:
    data = raw()
    mutate(data)
    with pytest.raises(ContentError) as err:
        parse_content(data, "broken.yaml")
    return str(err.value)


def test_unknown_item_id_in_a_rule_is_named() -> None:
    msg = broken(
        lambda d: d["rules"].append(
            {"id": "U9", "level": "urgent", "when": {"items_any": ["nosuch"]}, "reason": "x"}
        )
    )
    assert f"broken.yaml: rules[{len(raw()['rules'])}].when.items_any: unknown item id 'nosuch'" in msg


def test_duplicate_id_is_named() -> None:
    def dup(d: dict[str, Any]) -> None:
        d["factors"][0]["id"] = "assault"

    msg = broken(dup)
    assert "factors[0].id: duplicate id 'assault'" in msg


def test_step_with_no_way_out_is_named() -> None:
    def no_options(d: dict[str, Any]) -> None:
        d["steps"][0]["options"] = []

    assert "steps[0].options: a single step with no options has no way out" in broken(no_options)


def test_outcome_with_no_contact_is_named() -> None:
    def no_contacts(d: dict[str, Any]) -> None:
        d["outcomes"]["concern"]["contacts"] = []

    assert "outcomes.concern.contacts: an outcome must name at least one contact" in broken(no_contacts)


def test_empty_text_is_named() -> None:
    def empty(d: dict[str, Any]) -> None:
        d["indicators"][2]["help"] = "   "

    assert "indicators[2].help: String should have at least 1 character" in broken(empty)


def test_emergency_outcome_must_put_999_first() -> None:
    def reorder(d: dict[str, Any]) -> None:
        d["outcomes"]["emergency"]["contacts"] = ["designated_person", "police_999"]

    assert "outcomes.emergency.contacts: 'police_999' must come first" in broken(reorder)


def test_too_many_items_in_a_step_is_named() -> None:
    def crowd(d: dict[str, Any]) -> None:
        i = next(n for n, st in enumerate(d["steps"]) if st["id"] == "signs_1")
        d["steps"][i]["items"] = d["steps"][i]["items"] + ["callers", "money_gifts", "phones"]

    assert "items: List should have at most 7 items" in broken(crowd)


def test_unreadable_file_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "cse.yaml"
    bad.write_text("meta: [unclosed", encoding="utf-8")
    with pytest.raises(ContentError) as err:
        load_content(bad)
    assert str(bad) in str(err.value)


def test_a_valid_copy_loads_and_every_problem_is_listed() -> None:
    assert parse_content(copy.deepcopy(raw())).meta.id == "cse-triage"

    def two(d: dict[str, Any]) -> None:
        d["outcomes"]["concern"]["contacts"] = []
        d["steps"][0]["options"] = []

    msg = broken(two)
    assert "outcomes.concern" in msg and "steps[0].options" in msg
