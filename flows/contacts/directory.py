"""Contacts directory from a YAML file: whom to call, for which service, in or out of hours.

The deploying organisation describes its contacts in a YAML file (an annotated example ships as
``flows/content/contacts.example.yaml``; its schema is ``flows/contacts/file.py``).
:func:`load_directory` checks the file and returns a :class:`YamlDirectory`, which implements the
``Directory`` protocol of ``flows/contacts/model.py``: the route for the time (office hours, the
out-of-hours service, a gap in cover), and the lines to show for each contact role.
``flows/contacts/deployment.py`` says what still stops a file from being used with real practitioners.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from pydantic import ValidationError

from flows.contacts.file import (
    EXAMPLE_CONTACTS,
    ContactsError,
    ContactsFile,
    Designated,
    Line,
    Service,
    cross_check,
    holiday_calendar,
    named,
)
from flows.contacts.hours import clock_text, week_text
from flows.contacts.model import ContactLine, Route
from flows.contacts.phones import dial_phone, display_phone
from flows.schema import pydantic_problems, safe_yaml

__all__ = ["EXAMPLE_CONTACTS", "ContactsError", "YamlDirectory", "load_directory", "parse_directory"]


def parse_directory(data: Any, source: str = "<contacts>") -> YamlDirectory:
    """Validate already-parsed YAML data; raise :class:`ContactsError` listing every problem."""
    try:
        config = ContactsFile.model_validate(data)
    except ValidationError as err:
        raise ContactsError(source, [named(p, data) for p in pydantic_problems(err)]) from None
    problems = cross_check(config)
    if problems:
        raise ContactsError(source, [named(p, data) for p in problems])
    return YamlDirectory(config, source)


def load_directory(path: Path | str) -> YamlDirectory:
    """Load and validate a contacts file; raise :class:`ContactsError` naming file, field and problem."""
    path = Path(path)
    try:
        data = safe_yaml(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise ContactsError(str(path), [f"(file): cannot read: {err}"]) from None
    return parse_directory(data, str(path))


# -- the directory --------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1024)  # lines are frozen; parsing a number costs ~0.2 ms per screen
def _line(line: Line | Designated, name: str | None = None) -> ContactLine:
    if isinstance(line, Designated):
        parts = [line.hours, line.email]
        title = line.title
    else:
        parts = [line.hours, line.email, line.web]
        title = line.name
    detail = ", ".join(p for p in parts if p) or None
    phone = line.phone
    return ContactLine(
        name or title, display_phone(phone) if phone else None, detail, dial_phone(phone) if phone else None
    )


def _checked(contact: ContactLine, line: Line | Designated) -> ContactLine:
    """The line with "checked on 30 November 2026" after its details, when the file says so."""
    if line.verified_on is None:
        return contact
    note = f"checked on {line.verified_on.day} {line.verified_on:%B %Y}"
    detail = f"{contact.detail}; {note}" if contact.detail else note
    return ContactLine(contact.name, contact.phone, detail, contact.tel)


class YamlDirectory:
    """Contacts from a validated contacts file; implements ``flows.contacts.Directory``."""

    def __init__(self, config: ContactsFile, source: str = "<contacts>") -> None:
        self.config = config
        self.source = source
        self.zone = ZoneInfo(config.timezone)
        self._holidays = holiday_calendar(config.holidays_region) if config.holidays_region else None

    @property
    def services(self) -> list[tuple[str, str]]:
        """(code, button label) of each service, in file order."""
        return [(s.code, s.label) for s in self.config.services]

    @property
    def is_example(self) -> bool:
        """True while the file says ``example: true``."""
        return self.config.example

    @property
    def organisation(self) -> str:
        """The deploying organisation (``organisation`` in the file)."""
        return self.config.organisation

    @property
    def content_owner(self) -> ContactLine | None:
        """Whom to tell about a problem with the advice (``content_owner`` in the file)."""
        owner = self.config.content_owner
        return _line(owner) if owner is not None else None

    def local(self, now: dt.datetime) -> dt.datetime:
        """``now`` as local wall time: a naive time is taken as local, an aware one is converted."""
        if now.tzinfo is None:
            return now.replace(tzinfo=self.zone)
        return now.astimezone(self.zone)

    def closure(self, day: dt.date) -> str | None:
        """Why the office is shut all day on ``day`` (local closure or public holiday), if it is."""
        if day in self.config.closed_dates:
            return f"office closed ({self.config.closed_dates[day]})"
        if day not in self.config.open_dates and self._holidays is not None:
            name = self._holidays.get(day)
            if name:
                # "New Year Holiday (observed)" -> "New Year Holiday, observed": no nested brackets.
                return "public holiday (" + re.sub(r" [(](.*?)[)]", r", \1", name) + ")"
        return None

    def route(self, now: dt.datetime) -> Route:
        """In hours or out of hours at ``now``, with a one-line basis to show.

        ``gap`` is set when neither the office nor the out-of-hours service answers (a gap that
        ``check_deployable`` reports): the police non-emergency line then stands in.
        """
        local = self.local(now)
        day, clock = local.date(), local.time().replace(tzinfo=None)
        weekday = f"{local:%A}"  # English: Python leaves LC_TIME at "C" unless the app changes it
        why = self.closure(day)
        if why:
            date = f"{day.day} {day:%B}"
            return Route(False, f"{weekday} {date} {clock:%H:%M} — {why}, out of hours")
        for start, end in self.config.office_hours.on(local.weekday()):
            if start <= clock < end:
                return Route(True, f"{weekday} {clock:%H:%M} — office hours (until {clock_text(end)})")
        ooh = self.config.social_work.out_of_hours.open.on(local.weekday())
        if any(start <= clock < end for start, end in ooh):
            return Route(False, f"{weekday} {clock:%H:%M} — out of hours")
        opens = self._next_opening(local)
        when = f", out-of-hours team from {opens}" if opens else ""
        return Route(False, f"{weekday} {clock:%H:%M} — social work closed{when}", gap=True)

    def _next_opening(self, local: dt.datetime) -> str | None:
        """The next time today that the office or the out-of-hours service opens, as 'HH:MM'."""
        clock = local.time().replace(tzinfo=None)
        day = local.weekday()
        hours = (*self.config.office_hours.on(day), *self.config.social_work.out_of_hours.open.on(day))
        starts = [a for a, _ in hours]
        later = sorted(a for a in starts if a > clock)
        return f"{later[0]:%H:%M}" if later else None

    def _service(self, code: str | None) -> list[Service]:
        # An unknown code (e.g. a remembered choice from an older file) falls back to all services:
        # showing every designated person is safer than showing none.
        chosen = [s for s in self.config.services if s.code == code]
        return chosen or list(self.config.services)

    def resolve(self, role: str, *, service: str | None, now: dt.datetime) -> list[ContactLine]:
        """The lines to show for a contact role; KeyError for a role this directory does not know."""
        c = self.config
        fixed: dict[str, Line] = {
            "police_999": c.police.emergency,
            "police_101": c.police.non_emergency,
            "nspcc": c.national.nspcc,
            "childline": c.national.childline,
            "ceop": c.national.ceop,
            "stop_it_now": c.national.stop_it_now,
            "sarcs": c.national.sarcs,
        }
        if role in fixed:
            return [_line(fixed[role])]
        route = self.route(now)
        ooh = _line(c.social_work.out_of_hours)
        if route.gap:
            opens = self._next_opening(self.local(now))
            ooh = ContactLine(ooh.name, ooh.phone, f"from {opens}" if opens else ooh.detail, ooh.tel)
        if role == "social_work":
            if route.in_hours:
                return [_line(c.social_work.office)]
            # Never a closed service as the only social-work route: in a gap in cover, the police
            # non-emergency line (answered at all hours) comes first.
            return [_line(c.police.non_emergency), ooh] if route.gap else [ooh]
        if role == "designated_person":
            return self._designated(service, now, None if route.in_hours else ooh)
        raise KeyError(role)

    def designated_now(self, service: str | None, now: dt.datetime) -> bool:
        """Whether the service's designated person can be reached at ``now``: at all hours, or
        within their own ``open`` hours (else the office hours) on a day the office is not shut.
        With no service chosen, every service's designated person must be."""
        return all(self._reachable(s.designated, now) for s in self._service(service))

    def _reachable(self, d: Designated, now: dt.datetime) -> bool:
        if d.available_out_of_hours:
            return True
        if d.open is None:
            return self.route(now).in_hours
        local = self.local(now)
        if self.closure(local.date()):
            return False
        clock = local.time().replace(tzinfo=None)
        return any(start <= clock < end for start, end in d.open.on(local.weekday()))

    def reference_lines(self) -> list[ContactLine]:
        """Every contact with its hours, whatever the time, and when it was last checked: for the
        printed quick reference."""
        c = self.config
        office = _line(c.social_work.office)
        hours = week_text(c.office_hours)
        office = ContactLine(office.name, office.phone, f"{hours}, not public holidays", office.tel)
        return [
            _checked(_line(c.police.emergency), c.police.emergency),
            *(
                _checked(_line(s.designated, f"{s.label}: {s.designated.title}"), s.designated)
                for s in c.services
            ),
            _checked(office, c.social_work.office),
            _checked(_line(c.social_work.out_of_hours), c.social_work.out_of_hours),
            _checked(_line(c.police.non_emergency), c.police.non_emergency),
            *(
                _checked(_line(x), x)
                for x in (
                    c.national.sarcs,
                    c.national.nspcc,
                    c.national.childline,
                    c.national.ceop,
                    c.national.stop_it_now,
                )
            ),
        ]

    def _designated(
        self, service: str | None, now: dt.datetime, ooh: ContactLine | None
    ) -> list[ContactLine]:
        """The service's designated person(s). One who cannot be reached now (outside their hours)
        is shown "when next available"; out of hours (``ooh`` given) the out-of-hours social work
        line follows (the same line as social_work's, so a screen listing both roles shows it once)."""
        chosen = self._service(service)
        many = len(chosen) > 1
        lines: list[ContactLine] = []
        for s in chosen:
            line = _line(s.designated, f"{s.label}: {s.designated.title}" if many else None)
            if not self._reachable(s.designated, now):
                line = ContactLine(line.name, line.phone, f"when next available: {line.detail}", line.tel)
            lines.append(line)
        if ooh is not None and not all(s.designated.available_out_of_hours for s in chosen):
            lines.append(ooh)
        return lines
