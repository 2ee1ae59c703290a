"""A contacts file a council can keep current: every line says when it was last checked and by
which role, `validate` warns when a line is due and refuses it when it is too old, the quick
reference prints "checked on"; `validate` lists every problem at once, names a service by its
code, and refuses a number that has lost its leading 0; generated documents go where the
deployer says, never over the repository's own."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from bot.cli import main
from flows.contacts import EXAMPLE_CONTACTS, load_directory, parse_directory
from flows.contacts.deployment import check_deployable, contact_warnings, months_between
from flows.reference import quick_reference
from flows.schema import Content
from tests.flows.test_directory import CHECKED, ready

ROOT = Path(__file__).resolve().parents[2]
CHECKED_ON = dt.date.fromisoformat(CHECKED["verified_on"])


def on(months: int, days: int = 0) -> dt.date:
    """The day ``months`` months (and ``days`` days) after the lines were checked."""
    year, month = divmod(CHECKED_ON.month - 1 + months, 12)
    return CHECKED_ON.replace(year=CHECKED_ON.year + year, month=month + 1) + dt.timedelta(days=days)


def validate(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], data: Any, *args: str):  # type: ignore[no-untyped-def]
    """`cse-triage validate` on ``data`` written as the contacts file: (exit code, stdout, stderr)."""
    path = Path("contacts.yaml")
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    monkeypatch.setenv("CONTACTS_FILE", str(path))
    code = main(["validate", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's, and files land here
    for name in ("CONTACTS_FILE", "CONTENT_FILE", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


# -- when each line was checked ----------------------------------------------------------------
def test_every_line_must_say_when_it_was_checked_and_by_whom() -> None:
    data = ready()
    del data["services"][1]["designated"]["verified_on"]
    del data["social_work"]["office"]["verified_by"]
    data["police"] = {"non_emergency": {"name": "Police Scotland", "phone": "101"}}
    problems = check_deployable(parse_directory(data))
    assert [p.split(":")[0] for p in problems] == [
        "services[health].designated",
        "social_work.office",
        "police.non_emergency",
    ]
    assert "verified_on missing" in problems[0] and "verified_by missing" in problems[1]


@pytest.mark.parametrize(
    ("today", "problem", "warning"),
    [
        (on(5, 29), False, False),
        (on(6), False, True),
        (on(11, 29), False, True),
        (on(12), True, False),
        (CHECKED_ON - dt.timedelta(days=1), True, False),  # checked "tomorrow": a typo
    ],
)
def test_a_line_is_due_after_six_months_and_refused_after_twelve(
    today: dt.date, problem: bool, warning: bool
) -> None:
    d = parse_directory(ready())
    assert bool(check_deployable(d, today)) is problem
    assert bool(contact_warnings(d, today)) is warning
    assert check_deployable(d) == [], "without a date, only whether each line says when"


def test_the_months_are_the_deployments_own() -> None:
    data = {**ready(), "verification": {"warn_after_months": 1, "refuse_after_months": 2}}
    d = parse_directory(data)
    assert contact_warnings(d, on(1)) and not check_deployable(d, on(1))
    [*problems] = check_deployable(d, on(2))
    assert problems[0].startswith("services[education].designated: last checked on 2026-11-30 by Child")
    assert "2 months ago (refused after 2)" in problems[0]
    with pytest.raises(ValueError, match="refuse_after_months must be more than warn_after_months"):
        parse_directory({**ready(), "verification": {"warn_after_months": 6, "refuse_after_months": 6}})


@given(st.dates(), st.dates())
def test_months_between_counts_whole_months(a: dt.date, b: dt.date) -> None:
    earlier, later = sorted((a, b))
    months = months_between(earlier, later)
    assert months >= 0

    # Adding that many months does not pass ``later``; one more does.
    def add(n: int) -> tuple[int, int, int]:
        y, m = divmod(earlier.month - 1 + n, 12)
        return (earlier.year + y, m + 1, earlier.day)

    assert add(months) <= (later.year, later.month, later.day) < add(months + 1)


def test_validate_warns_then_refuses(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = validate(monkeypatch, capsys, ready(), "--now", f"{on(7):%Y-%m-%d} 10:00")
    assert code == 0 and "OK" in out
    assert "warning: services[education].designated: last checked on 2026-11-30" in err
    code, _, err = validate(monkeypatch, capsys, ready(), "--now", f"{on(13):%Y-%m-%d} 10:00")
    assert code == 1 and "13 months ago (refused after 12)" in err


def test_the_quick_reference_says_when_each_line_was_checked(content: Content) -> None:
    text = quick_reference(content, load_directory(EXAMPLE_CONTACTS))
    contacts = text.split("\n## ")[1]
    lines = [line for line in contacts.splitlines() if line.startswith("- ")]
    assert lines and all("checked on 30 November 2026" in line for line in lines)
    # Whose contacts they are comes from the deployment's own file, not the shipped content.
    assert contacts.startswith("📞 Who to contact: EXAMPLE Falkirk Child Protection Committee (Forth Valley)")


# -- every problem at once, in the words of the file --------------------------------------------
def test_validate_lists_every_problem_at_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ready()
    del data["services"][0]["designated"]["phone"]  # a structural error...
    data["services"][1]["designated"]["title"] = "EXAMPLE Adviser"  # ...hid these before
    data["social_work"]["office"]["phone"] = "07700 900123"
    data["social_work"]["out_of_hours"]["phone"] = "1786 470500"
    code, _, err = validate(monkeypatch, capsys, data)
    assert code == 1
    named = {line.split(": ")[1] for line in err.splitlines()}
    assert named == {
        "services[education].designated.phone",
        "services[health].designated.title",
        "social_work.office.phone",
        "social_work.out_of_hours.phone",
    }
    assert "[0]" not in err and "[1]" not in err, "services by code, never by index from zero"


@pytest.mark.parametrize("written", ["1786 470500", "'1786 470500'"])
def test_a_number_without_its_leading_0_is_refused(tmp_path: Path, written: str) -> None:
    text = yaml.safe_dump(ready(), sort_keys=False)
    assert "phone: 01786 470500" in text
    text = text.replace("phone: 01786 470500", f"phone: {written}")
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=r"social_work\.out_of_hours\.phone: '1786 470500' has no leading 0"):
        load_directory(path)


# -- generated documents go where the deployer says ----------------------------------------------
def test_reference_writes_where_it_is_told_never_over_the_repositorys_docs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tracked = (ROOT / "docs" / "quick-reference.md").read_bytes()
    assert main(["reference"]) == 0
    assert (tmp_path / "quick-reference.md").is_file() and (tmp_path / "quick-reference.html").is_file()
    assert main(["reference", "--out", "printed"]) == 0
    assert (tmp_path / "printed" / "quick-reference.html").is_file()
    assert (ROOT / "docs" / "quick-reference.md").read_bytes() == tracked
    assert "wrote printed/quick-reference.md" in capsys.readouterr().out
