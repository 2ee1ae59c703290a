"""Tests of the YAML contacts directory: routing by time, resolving roles, validation, deployability.

Times are chosen around real edges: office opening and closing, the weekend, Scottish public
holidays (St Andrew's Day, 2 January and its observed day) and both UK daylight-saving changes.
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.contacts import (
    EXAMPLE_CONTACTS,
    ContactsError,
    GenericDirectory,
    YamlDirectory,
    load_directory,
    parse_directory,
)
from flows.contacts.deployment import check_deployable
from flows.contacts.phones import dial_phone, display_phone

UTC = dt.UTC
LONDON = ZoneInfo("Europe/London")
ROLES = [
    "police_999",
    "police_101",
    "designated_person",
    "social_work",
    "nspcc",
    "childline",
    "ceop",
    "stop_it_now",
]
IN_HOURS = dt.datetime(2026, 12, 2, 10, 0)  # Wednesday morning
OUT_OF_HOURS = dt.datetime(2026, 12, 5, 21, 40)  # Saturday evening


# When a line was last checked, and by which role (every line in a file must say).
CHECKED = {"verified_on": "2026-11-30", "verified_by": "Child protection lead officer"}


def ready() -> dict[str, Any]:
    """A complete, deployable contacts file (numbers from the verified Forth Valley list)."""
    return {
        "organisation": "Falkirk Child Protection Committee",
        "example": False,
        "office_hours": {
            "monday": "08:45-16:45",
            "tuesday": "08:45-16:45",
            "wednesday": "08:45-16:45",
            "thursday": "08:45-16:45",
            "friday": "08:45-15:55",
            "saturday": "closed",
            "sunday": "closed",
        },
        "services": [
            {
                "code": "education",
                "label": "Education",
                "designated": {
                    "title": "Child Protection Coordinator",
                    "phone": "01786 471177",
                    "hours": "term",
                    **CHECKED,
                },
            },
            {
                "code": "health",
                "label": "Health",
                "designated": {
                    "title": "Child Protection Adviser",
                    "phone": "01259 225000",
                    "hours": "9 to 5",
                    **CHECKED,
                },
            },
        ],
        "social_work": {
            "office": {
                "name": "Falkirk Social Work",
                "phone": "01324 503650",
                "hours": "office hours",
                **CHECKED,
            },
            "out_of_hours": {
                "name": "Emergency Duty Team",
                "phone": "01786 470500",
                "hours": "evenings, weekends, public holidays",
                **CHECKED,
                "open": {
                    "monday": "00:00-08:45, 16:45-24:00",
                    "tuesday": "00:00-08:45, 16:45-24:00",
                    "wednesday": "00:00-08:45, 16:45-24:00",
                    "thursday": "00:00-08:45, 16:45-24:00",
                    "friday": "00:00-08:45, 15:55-24:00",
                    "saturday": "00:00-24:00",
                    "sunday": "00:00-24:00",
                },
            },
        },
    }


@pytest.fixture(scope="module")
def example() -> YamlDirectory:
    return load_directory(EXAMPLE_CONTACTS)


def problems_of(data: Any, tmp_path: Path) -> list[str]:
    """Write ``data`` as a contacts file, load it, and return the problems it raises."""
    path = tmp_path / "contacts.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ContactsError) as err:
        load_directory(path)
    assert str(path) in str(err.value)  # every message names the file
    return err.value.problems


# -- routing ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("now", "in_hours", "basis"),
    [
        ("2026-12-02 10:00", True, "Wednesday 10:00 — office hours (until 16:45)"),
        ("2026-12-02 08:44", False, "Wednesday 08:44 — out of hours"),
        ("2026-12-02 08:45", True, "Wednesday 08:45 — office hours (until 16:45)"),
        ("2026-12-02 16:44", True, "Wednesday 16:44 — office hours (until 16:45)"),
        # The example's out-of-hours team starts at 17:00: a gap in cover, named as such.
        ("2026-12-02 16:45", False, "Wednesday 16:45 — social work closed, out-of-hours team from 17:00"),
        ("2026-12-02 17:00", False, "Wednesday 17:00 — out of hours"),
        ("2026-12-02 18:30", False, "Wednesday 18:30 — out of hours"),
        ("2026-12-04 15:54", True, "Friday 15:54 — office hours (until 15:55)"),
        ("2026-12-04 16:10", False, "Friday 16:10 — social work closed, out-of-hours team from 17:00"),
        ("2026-12-05 21:40", False, "Saturday 21:40 — out of hours"),
        ("2026-12-05 10:00", False, "Saturday 10:00 — out of hours"),
        ("2026-12-06 11:00", False, "Sunday 11:00 — out of hours"),
        ("2026-12-01 10:00", True, "Tuesday 10:00 — office hours (until 16:45)"),
    ],
)
def test_route_weekly_schedule(example: YamlDirectory, now: str, in_hours: bool, basis: str) -> None:
    route = example.route(dt.datetime.fromisoformat(now))
    assert (route.in_hours, route.basis) == (in_hours, basis)


@pytest.mark.parametrize(
    ("now", "basis"),
    [
        ("2026-11-30 10:00", "Monday 30 November 10:00 — public holiday (Saint Andrew's Day), out of hours"),
        ("2026-01-02 10:00", "Friday 2 January 10:00 — public holiday (New Year Holiday), out of hours"),
        ("2027-01-02 10:00", "Saturday 2 January 10:00 — public holiday (New Year Holiday), out of hours"),
        (
            "2027-01-04 10:00",
            "Monday 4 January 10:00 — public holiday (New Year Holiday, observed), out of hours",
        ),
        (
            "2026-12-28 11:00",
            "Monday 28 December 11:00 — public holiday (Boxing Day, observed), out of hours",
        ),
    ],
)
def test_route_scottish_public_holidays(example: YamlDirectory, now: str, basis: str) -> None:
    route = example.route(dt.datetime.fromisoformat(now))
    assert not route.in_hours
    assert route.basis == basis


def test_holidays_follow_the_configured_region() -> None:
    data = ready()
    data["holidays_region"] = "GB-ENG"  # no St Andrew's Day, no 2 January in England
    england = parse_directory(data)
    assert england.route(dt.datetime(2026, 11, 30, 10)).in_hours
    assert england.route(dt.datetime(2027, 1, 4, 10)).in_hours
    assert not england.route(dt.datetime(2027, 1, 1, 10)).in_hours
    data["holidays_region"] = None
    assert parse_directory(data).route(dt.datetime(2026, 12, 25, 10)).in_hours


def test_closed_and_open_dates_override_the_calendar() -> None:
    data = ready()
    data["closed_dates"] = {dt.date(2026, 12, 3): "staff training"}
    data["open_dates"] = [dt.date(2026, 11, 30)]
    d = parse_directory(data)
    route = d.route(dt.datetime(2026, 12, 3, 10))
    assert (route.in_hours, route.basis) == (
        False,
        "Thursday 3 December 10:00 — office closed (staff training), out of hours",
    )
    assert d.route(dt.datetime(2026, 11, 30, 10)).in_hours
    assert not d.route(dt.datetime(2026, 12, 25, 10)).in_hours  # other holidays still count


def test_split_day_schedule() -> None:
    data = ready()
    data["office_hours"]["monday"] = "08:45-12:30, 13:30-16:45"
    d = parse_directory(data)
    assert d.route(dt.datetime(2026, 12, 7, 12, 0)).basis == "Monday 12:00 — office hours (until 12:30)"
    assert not d.route(dt.datetime(2026, 12, 7, 13, 0)).in_hours
    assert d.route(dt.datetime(2026, 12, 7, 13, 30)).in_hours


@pytest.mark.parametrize(
    ("utc", "in_hours", "basis_start"),
    [
        # Spring forward: Sunday 29 March 2026 at 01:00 UTC the clocks go from 01:00 GMT to 02:00 BST.
        (dt.datetime(2026, 3, 29, 0, 59, tzinfo=UTC), False, "Sunday 00:59"),
        (dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC), False, "Sunday 02:00"),
        (dt.datetime(2026, 3, 27, 8, 50, tzinfo=UTC), True, "Friday 08:50"),  # GMT: local = UTC
        (dt.datetime(2026, 3, 30, 7, 50, tzinfo=UTC), True, "Monday 08:50"),  # BST: local = UTC + 1
        (dt.datetime(2026, 3, 30, 15, 50, tzinfo=UTC), False, "Monday 16:50"),  # naive UTC would be in hours
        # Fall back: Sunday 25 October 2026 at 01:00 UTC the clocks go from 02:00 BST to 01:00 GMT.
        (dt.datetime(2026, 10, 25, 0, 59, tzinfo=UTC), False, "Sunday 01:59"),
        (dt.datetime(2026, 10, 25, 1, 0, tzinfo=UTC), False, "Sunday 01:00"),
        (dt.datetime(2026, 10, 23, 7, 50, tzinfo=UTC), True, "Friday 08:50"),  # still BST
        (dt.datetime(2026, 10, 26, 7, 50, tzinfo=UTC), False, "Monday 07:50"),  # GMT again
        (dt.datetime(2026, 10, 26, 8, 50, tzinfo=UTC), True, "Monday 08:50"),
        # Late Friday UTC is already Saturday in BST.
        (dt.datetime(2026, 7, 3, 23, 30, tzinfo=UTC), False, "Saturday 00:30"),
    ],
)
def test_route_converts_aware_times_across_daylight_saving(
    example: YamlDirectory, utc: dt.datetime, in_hours: bool, basis_start: str
) -> None:
    route = example.route(utc)
    assert route.in_hours is in_hours
    assert route.basis.startswith(basis_start + " — ")


def test_route_accepts_other_zones_and_naive_local(example: YamlDirectory) -> None:
    new_york = dt.datetime(2026, 12, 2, 5, 0, tzinfo=ZoneInfo("America/New_York"))  # 10:00 in London
    assert example.route(new_york) == example.route(IN_HOURS)
    assert example.local(IN_HOURS).utcoffset() == dt.timedelta(0)
    assert example.local(dt.datetime(2026, 7, 1, 10)).utcoffset() == dt.timedelta(hours=1)


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 12, 31)))
def test_aware_and_naive_local_agree(moment: dt.datetime) -> None:
    d = load_directory(EXAMPLE_CONTACTS)
    utc = moment.replace(tzinfo=UTC)
    local = utc.astimezone(LONDON)
    route = d.route(utc)
    assert route == d.route(local.replace(tzinfo=None, fold=local.fold))
    assert route.basis.startswith(f"{local:%A} ")
    if route.in_hours:
        assert local.weekday() < 5 and d.closure(local.date()) is None


# -- resolving roles --------------------------------------------------------------------------------
@pytest.mark.parametrize("code", ["education", "health", "social_work", "police", "voluntary", None])
@pytest.mark.parametrize("now", [IN_HOURS, OUT_OF_HOURS])
def test_example_resolves_every_role_for_every_service(
    example: YamlDirectory, code: str | None, now: dt.datetime
) -> None:
    assert [c for c, _ in example.services] == ["education", "health", "social_work", "police", "voluntary"]
    for role in ROLES:
        lines = example.resolve(role, service=code, now=now)
        assert lines, role
        for line in lines:
            assert line.name.strip()
            if line.phone is not None:
                assert line.tel is not None
                assert line.tel in ("999", "101") or line.tel.startswith("+44")
    assert example.resolve("police_999", service=code, now=now)[0].phone == "999"


def test_social_work_office_in_hours_emergency_service_out_of_hours(example: YamlDirectory) -> None:
    [office] = example.resolve("social_work", service=None, now=IN_HOURS)
    assert (office.phone, office.tel) == ("01324 503650", "+441324503650")
    [ooh] = example.resolve("social_work", service=None, now=OUT_OF_HOURS)
    assert (ooh.phone, ooh.tel) == ("01786 470500", "+441786470500")
    [holiday] = example.resolve("social_work", service=None, now=dt.datetime(2026, 11, 30, 10))
    assert holiday == ooh


def test_designated_person_for_the_chosen_service(example: YamlDirectory) -> None:
    [line] = example.resolve("designated_person", service="education", now=IN_HOURS)
    assert line.name == "EXAMPLE School Child Protection Coordinator"
    assert line.phone == "01632 960001"
    assert line.detail is not None and "cpc@example.org" in line.detail
    designated, ooh = example.resolve("designated_person", service="education", now=OUT_OF_HOURS)
    # Out of hours the school coordinator is not there: said so, after whoever answers now.
    assert (designated.name, designated.phone) == (line.name, line.phone)
    assert designated.detail == f"when next available: {line.detail}"
    # The fallback is the very line social_work shows, so a screen with both lists it once.
    assert [ooh] == example.resolve("social_work", service="education", now=OUT_OF_HOURS)
    # A designated person reachable out of hours needs no fallback.
    [police] = example.resolve("designated_person", service="police", now=OUT_OF_HOURS)
    assert police.phone == "01632 960004"


@pytest.mark.parametrize("code", [None, "no_longer_exists"])
def test_designated_person_without_a_known_service_lists_each(
    example: YamlDirectory, code: str | None
) -> None:
    lines = example.resolve("designated_person", service=code, now=IN_HOURS)
    assert [line.name.split(":")[0] for line in lines] == [label for _, label in example.services]
    assert len(example.resolve("designated_person", service=code, now=OUT_OF_HOURS)) == len(lines) + 1


def test_national_lines_are_the_verified_numbers(example: YamlDirectory) -> None:
    def phone(role: str) -> str | None:
        return example.resolve(role, service=None, now=IN_HOURS)[0].phone

    assert phone("police_101") == "101"
    assert phone("nspcc") == "0808 800 5000"
    assert phone("childline") == "0800 1111"
    assert phone("stop_it_now") == "0808 1000 900"  # published grouping kept
    [ceop] = example.resolve("ceop", service=None, now=IN_HOURS)
    assert ceop.phone is None and ceop.detail == "ceop.police.uk/ceop-reporting"
    with pytest.raises(KeyError):
        example.resolve("ghostbusters", service=None, now=IN_HOURS)


def test_police_and_national_lines_default_when_left_out() -> None:
    d = parse_directory(ready())
    assert d.resolve("police_999", service=None, now=IN_HOURS)[0].phone == "999"
    assert d.resolve("childline", service=None, now=IN_HOURS)[0].phone == "0800 1111"


def test_phone_formats() -> None:
    assert display_phone("01324503650") == "01324 503650"
    assert display_phone("+44 1324 503650") == "01324 503650"
    assert display_phone("(01324) 503-650") == "01324 503650"
    assert display_phone("0808 1000 900") == "0808 1000 900"
    assert dial_phone("0808 1000 900") == "+448081000900"
    assert dial_phone("999") == "999"


# -- validation ---------------------------------------------------------------------------------------
def test_missing_field_is_named(tmp_path: Path) -> None:
    data = ready()
    del data["services"][1]["designated"]["phone"]
    del data["office_hours"]["friday"]
    problems = problems_of(data, tmp_path)
    assert "services[health].designated.phone: Field required" in problems
    assert "office_hours.friday: Field required" in problems


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("call reception", "is not a phone number"),
        ("+33 1 23 45 67 89", "is not a UK number"),
        ("01324 5", "wrong number of digits"),
        (1324503650, "write the number in quotes"),
        ("999", "police short code"),
    ],
)
def test_bad_phone_is_named(tmp_path: Path, phone: object, message: str) -> None:
    data = ready()
    data["services"][1]["designated"]["phone"] = phone
    [problem] = problems_of(data, tmp_path)
    assert problem.startswith("services[health].designated.phone: ")
    assert message in problem


def test_several_problems_are_listed_together(tmp_path: Path) -> None:
    data = ready()
    data["timezone"] = "Europe/Falkirk"
    data["holidays_region"] = "GB-XYZ"
    data["office_hours"]["friday"] = "16:45-08:45"
    data["office_hours"]["monday"] = "9am-5pm"
    data["services"][0]["label"] = "A service label far too long for a Telegram button"
    data["services"][0]["designated"]["phone_number"] = "01324 503650"
    data["police"] = {"emergency": {"name": "Police", "phone": "998"}}
    problems = problems_of(data, tmp_path)
    got = {p.split(":")[0] for p in problems}
    assert got == {
        "timezone",
        "holidays_region",
        "office_hours.friday",
        "office_hours.monday",
        "services[education].label",
        "services[education].designated.phone_number",
        "police.emergency.phone",
    }
    text = "\n".join(problems)
    assert "unknown time zone 'Europe/Falkirk'" in text
    assert "closing time 08:45 is not after opening time 16:45" in text


def test_duplicate_service_code_is_named(tmp_path: Path) -> None:
    data = ready()
    data["services"].append(copy.deepcopy(data["services"][0]))
    assert problems_of(data, tmp_path) == [
        "services[#3].code: duplicate service code 'education' (also services[#1])"
    ]


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ContactsError, match=r"nope\.yaml: \(file\): cannot read"):
        load_directory(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("services: [unclosed", encoding="utf-8")
    with pytest.raises(ContactsError, match="cannot read"):
        load_directory(bad)


# -- deployability ------------------------------------------------------------------------------------
def test_example_file_is_refused(example: YamlDirectory) -> None:
    assert example.is_example
    problems = check_deployable(example)
    fields = {p.split(":")[0] for p in problems}
    assert "example" in fields
    assert "organisation" in fields
    for code in ("education", "health", "social_work", "police", "voluntary"):
        assert f"services[{code}].designated.phone" in fields, "a service is named by its code"
        assert f"services[{code}].designated.title" in fields
    # The verified numbers are not flagged.
    assert not fields & {
        "social_work.office.phone",
        "social_work.out_of_hours.phone",
        "police.emergency.phone",
    }
    assert not any(f.startswith("national.") and f.endswith(".phone") for f in fields)


def test_filled_in_file_is_deployable() -> None:
    d = parse_directory(ready())
    assert not d.is_example
    assert check_deployable(d) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "TODO"),
        ("title", "Change me"),
        ("title", "Coordinator xxx"),
        ("title", "<role title>"),
        ("email", "cp@example.com"),
        ("phone", "01234 567890"),
        ("phone", "07700 900123"),
        ("phone", "0131 496 0000"),
        ("phone", "01324 12345"),  # possible length, but no such UK number
    ],
)
def test_placeholders_are_refused_with_the_field(field: str, value: str) -> None:
    data = ready()
    data["services"][1]["designated"][field] = value
    assert [p.split(":")[0] for p in check_deployable(parse_directory(data))] == [
        f"services[health].designated.{field}"
    ]


def test_generic_directory_is_not_deployable() -> None:
    assert check_deployable(GenericDirectory()) == [
        "contacts: no contacts file is configured (set CONTACTS_FILE to your contacts YAML)"
    ]


# -- cover: never a time with no social-work route ----------------------------------------------
def test_a_gap_between_office_and_out_of_hours_is_reported_with_its_times() -> None:
    data = ready()
    data["social_work"]["out_of_hours"]["open"]["monday"] = "00:00-08:45, 17:00-24:00"
    data["social_work"]["out_of_hours"]["open"]["sunday"] = "00:00-20:00"
    problems = check_deployable(parse_directory(data))
    assert [p.split(": ")[1] for p in problems] == ["monday 16:45-17:00", "sunday 20:00-24:00"]
    assert all(p.startswith("social_work.out_of_hours.open: ") for p in problems)


def test_the_example_file_gap_is_reported() -> None:
    problems = check_deployable(load_directory(EXAMPLE_CONTACTS))
    gaps = [p for p in problems if p.startswith("social_work.out_of_hours.open")]
    assert len(gaps) == 5 and "friday 15:55-17:00" in gaps[-1]


def test_in_a_gap_police_101_comes_before_the_closed_out_of_hours_line(example: YamlDirectory) -> None:
    gap = dt.datetime(2026, 12, 7, 16, 50)  # Monday: office shut at 16:45, out-of-hours from 17:00
    route = example.route(gap)
    assert route.gap and not route.in_hours
    police, ooh = example.resolve("social_work", service="education", now=gap)
    assert police.phone == "101"
    assert (ooh.phone, ooh.detail) == ("01786 470500", "from 17:00")
    # Once the out-of-hours team answers, it is the route again, on its own.
    [line] = example.resolve("social_work", service="education", now=gap.replace(hour=17, minute=0))
    assert line.phone == "01786 470500"


def test_hours_may_run_to_midnight_and_no_further() -> None:
    data = ready()
    data["office_hours"]["saturday"] = "09:00-24:00"
    d = parse_directory(data)
    assert d.route(dt.datetime(2026, 12, 5, 23, 59, 59)).in_hours
    data["office_hours"]["saturday"] = "09:00-24:30"
    with pytest.raises(ContactsError, match="00:00 to 24:00"):
        parse_directory(data)
