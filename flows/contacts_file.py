"""The contacts file's schema: services and their designated persons, social work in and out
of hours, police and national lines, office hours, time zone and public holidays. Checked with
pydantic, then for what pydantic cannot see (duplicate codes, a schedule that never opens)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from flows.contacts import NATIONAL
from flows.hours import OfficeHours
from flows.phones import EmergencyPhone, NonEmergencyPhone, Phone
from flows.schema import Code, DataFileError, Label, Text

EXAMPLE_CONTACTS = Path(__file__).with_name("content") / "contacts.example.yaml"

Email = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Line(_Strict):
    """A line shown to the practitioner: name, optional number, and how or when to use it."""

    name: Text
    phone: Phone | None = None
    email: Email | None = None
    web: Text | None = None
    hours: Text | None = None


class PhoneLine(Line):
    phone: Phone


class EmergencyLine(Line):
    phone: EmergencyPhone = "999"


class NonEmergencyLine(Line):
    phone: NonEmergencyPhone = "101"


def _default(role: str, model: type[Line] = Line) -> Any:
    """Default for a line the file leaves out: the verified line from ``flows/contacts.py``."""
    c = NATIONAL[role]
    return Field(default_factory=lambda: model(name=c.name, phone=c.phone, hours=c.detail))


class Designated(_Strict):
    """The service's designated person for child protection: a role, never a named individual."""

    title: Text
    phone: Phone
    email: Email | None = None
    hours: Text
    available_out_of_hours: bool = False


class Service(_Strict):
    code: Code
    label: Label
    designated: Designated


class OutOfHoursLine(PhoneLine):
    """The out-of-hours social work service. ``open``: when it answers on ordinary days; on public
    holidays and closed dates (when the office is shut all day) it is taken to answer all day."""

    open: OfficeHours


class SocialWork(_Strict):
    office: PhoneLine
    out_of_hours: OutOfHoursLine


class Police(_Strict):
    emergency: EmergencyLine = _default("police_999", EmergencyLine)
    non_emergency: NonEmergencyLine = _default("police_101", NonEmergencyLine)


class National(_Strict):
    nspcc: Line = _default("nspcc")
    childline: Line = _default("childline")
    ceop: Line = _default("ceop")
    stop_it_now: Line = _default("stop_it_now")


class ContactsFile(_Strict):
    """The whole contacts file."""

    organisation: Text
    example: bool
    timezone: str = "Europe/London"
    holidays_region: str | None = "GB-SCT"
    office_hours: OfficeHours
    closed_dates: dict[dt.date, Text] = Field(default_factory=dict)
    open_dates: list[dt.date] = Field(default_factory=list)
    services: list[Service] = Field(min_length=1)
    social_work: SocialWork
    police: Police = Field(default_factory=Police)
    national: National = Field(default_factory=National)
    content_owner: Line | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{name}' (use a name such as 'Europe/London')") from None
        return name

    @field_validator("holidays_region")
    @classmethod
    def _region(cls, region: str | None) -> str | None:
        if region is not None:
            try:
                holiday_calendar(region)
            except (NotImplementedError, ValueError):
                raise ValueError(
                    f"unknown holidays region '{region}' (country code, then '-' and subdivision: 'GB-SCT')"
                ) from None
        return region


def holiday_calendar(region: str) -> holidays.HolidayBase:
    country, _, subdiv = region.strip().partition("-")
    return holidays.country_holidays(country.upper(), subdiv=subdiv.upper() or None)


class ContactsError(DataFileError):
    """The contacts file is broken."""


def cross_check(c: ContactsFile) -> list[str]:
    problems: list[str] = []
    seen: dict[str, int] = {}
    for i, svc in enumerate(c.services):
        if svc.code in seen:
            first = f"services[{seen[svc.code]}]"
            problems.append(f"services[{i}].code: duplicate service code '{svc.code}' (also {first})")
        seen.setdefault(svc.code, i)
    if not any(c.office_hours.on(d) for d in range(7)):
        problems.append("office_hours: closed every day; the office line would never be shown")
    for day in sorted(set(c.open_dates) & set(c.closed_dates)):
        problems.append(f"open_dates: {day} is also in closed_dates")
    return problems
