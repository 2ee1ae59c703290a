"""The contacts file's schema: services and their designated persons, social work in and out
of hours, police and national lines, office hours, time zone and public holidays. Checked with
pydantic, then for what pydantic cannot see (duplicate codes, a schedule that never opens)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from flows.contacts.hours import OfficeHours
from flows.contacts.model import NATIONAL
from flows.contacts.phones import EmergencyPhone, NonEmergencyPhone, Phone
from flows.schema import Code, DataFileError, Label, Text

EXAMPLE_CONTACTS = Path(__file__).parents[1] / "content" / "contacts.example.yaml"

Email = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Line(_Strict):
    """A line shown to the practitioner: name, optional number, and how or when to use it, with
    when it was last checked and by which role (``flows/contacts/deployment.py`` requires both)."""

    name: Text
    phone: Phone | None = None
    email: Email | None = None
    web: Text | None = None
    hours: Text | None = None
    verified_on: dt.date | None = None
    verified_by: Text | None = None


class PhoneLine(Line):
    phone: Phone


class EmergencyLine(Line):
    phone: EmergencyPhone = "999"


class NonEmergencyLine(Line):
    phone: NonEmergencyPhone = "101"


def _default(role: str, model: type[Line] = Line) -> Any:
    """Default for a line the file leaves out: the verified line from ``flows/contacts/model.py``."""
    c = NATIONAL[role]
    return Field(default_factory=lambda: model(name=c.name, phone=c.phone, hours=c.detail))


class Designated(_Strict):
    """The service's designated person for child protection: a role, never a named individual.

    ``open``: when the role can be reached, in the same form as ``office_hours`` (``hours`` is the
    same in words, shown beside the number). Outside it, and on public holidays and closed dates,
    the check never tells anyone to speak to them "now": whoever answers now comes first, and
    they are shown "when next available". Left out, they are taken to keep the office hours.
    ``available_out_of_hours``: reachable at all hours (e.g. a police supervisor on shift)."""

    title: Text
    phone: Phone
    email: Email | None = None
    hours: Text
    open: OfficeHours | None = None
    available_out_of_hours: bool = False
    verified_on: dt.date | None = None
    verified_by: Text | None = None


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
    sarcs: Line = _default("sarcs")


class Verification(_Strict):
    """How old a contact line's last check may be: ``validate`` warns after ``warn_after_months``
    and refuses (so Telegram and the web page will not start on it) after ``refuse_after_months``."""

    warn_after_months: int = Field(default=6, ge=1, le=60)
    refuse_after_months: int = Field(default=12, ge=1, le=120)

    @model_validator(mode="after")
    def _order(self) -> Verification:
        if self.refuse_after_months <= self.warn_after_months:
            raise ValueError("refuse_after_months must be more than warn_after_months")
        return self


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
    verification: Verification = Field(default_factory=Verification)

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


def _service_names(data: Any) -> list[str]:
    """How problems name each service: its code, else its label, else its place ("#2"), each as
    written in the file, so no reader has to count services from zero."""
    services = data.get("services") if isinstance(data, dict) else None
    if not isinstance(services, list):
        return []
    out: list[str] = []
    for key in ("code", "label"):
        names = [s.get(key) if isinstance(s, dict) else None for s in services]
        out = [
            o or (n.strip() if isinstance(n, str) and n.strip() and names.count(n) == 1 else "")
            for o, n in zip(out or [""] * len(services), names, strict=True)
        ]
    return [o or f"#{i + 1}" for i, o in enumerate(out)]


def named(problem: str, data: Any) -> str:
    """A ``path: problem`` line with ``services[1]`` written as ``services[health]`` (the code)."""
    names = _service_names(data)

    def name(match: re.Match[str]) -> str:
        i = int(match.group(1))
        return f"services[{names[i]}]" if i < len(names) else match.group(0)

    return re.sub(r"\bservices\[(\d+)\]", name, problem)
