"""Contacts directory from a YAML file: whom to call, for which service, in or out of hours.

The deploying organisation describes its contacts in a YAML file (an annotated example ships as
``flows/content/contacts.example.yaml``): its services and their designated persons, the local
social work office, the out-of-hours social work service, police and national lines, a weekly
schedule of office hours, a time zone and a public-holiday region. :func:`load_directory` checks
the file with pydantic and returns a :class:`YamlDirectory`, which implements the ``Directory``
protocol of ``flows/contacts.py``. :func:`check_deployable` lists what still stops the file from
being used with real practitioners (example flag, placeholders, numbers that are not real UK
numbers). Phone numbers are parsed with ``phonenumbers``, holidays come from ``holidays``.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import phonenumbers
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from flows.contacts import NATIONAL, ContactLine, Directory, Route
from flows.schema import Code, DataFileError, Text, pydantic_problems

EXAMPLE_CONTACTS = Path(__file__).with_name("content") / "contacts.example.yaml"

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

# Short codes dial as they are; only the police lines may use them.
EMERGENCY_CODES = frozenset({"999", "112"})
NON_EMERGENCY_CODES = frozenset({"101"})


# -- phone numbers --------------------------------------------------------------------------------
def _parse_uk(raw: str) -> phonenumbers.PhoneNumber:
    """Parse a UK number written nationally or as +44; ValueError if it cannot be one."""
    if not re.fullmatch(r"[+(]?[0-9][0-9 ()\-]{2,24}", raw):
        raise ValueError(f"'{raw}' is not a phone number (use digits and spaces, e.g. '01324 503650')")
    try:
        num = phonenumbers.parse(raw, "GB")
    except phonenumbers.NumberParseException as err:
        raise ValueError(f"'{raw}' is not a phone number ({err})") from None
    if num.country_code != 44:
        raise ValueError(f"'{raw}' is not a UK number")
    # Strict: "IS_POSSIBLE_LOCAL_ONLY" (a number without its area code) is not enough to dial.
    if phonenumbers.is_possible_number_with_reason(num) != phonenumbers.ValidationResult.IS_POSSIBLE:
        raise ValueError(f"'{raw}' has the wrong number of digits for a UK number")
    return num


def _phone_text(value: Any) -> Any:
    # YAML reads an unquoted 01324503650 as an (octal!) integer and 999 as an integer: keep the
    # short codes, and ask for quotes for anything else rather than guess the lost leading zero.
    if isinstance(value, bool):
        raise ValueError("a phone number must be text")
    if isinstance(value, int):
        if str(value) in EMERGENCY_CODES | NON_EMERGENCY_CODES:
            return str(value)
        raise ValueError("write the number in quotes, e.g. '01324 503650', so YAML keeps the leading 0")
    return value.strip() if isinstance(value, str) else value


def _uk_phone(raw: str) -> str:
    if raw in EMERGENCY_CODES | NON_EMERGENCY_CODES:
        raise ValueError(f"'{raw}' is a police short code; it may only be used for the police lines")
    _parse_uk(raw)
    return raw


def _emergency(raw: str) -> str:
    if raw not in EMERGENCY_CODES:
        raise ValueError(f"'{raw}': the emergency line must be 999 (or 112)")
    return raw


def _non_emergency(raw: str) -> str:
    return raw if raw in NON_EMERGENCY_CODES else _uk_phone(raw)


Phone = Annotated[str, BeforeValidator(_phone_text), AfterValidator(_uk_phone)]
EmergencyPhone = Annotated[str, BeforeValidator(_phone_text), AfterValidator(_emergency)]
NonEmergencyPhone = Annotated[str, BeforeValidator(_phone_text), AfterValidator(_non_emergency)]
Email = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=36)]


def display_phone(raw: str) -> str:
    """The number as shown: UK national format, keeping the author's grouping if digits and spaces.

    Organisations publish memorable groupings ("0808 1000 900") that differ from the standard one
    ("0808 100 0900"); both dial the same, so the published one is kept when the digits agree.
    """
    if raw in EMERGENCY_CODES | NON_EMERGENCY_CODES:
        return raw
    national = phonenumbers.format_number(_parse_uk(raw), phonenumbers.PhoneNumberFormat.NATIONAL)
    spaced = " ".join(raw.split())
    same_digits = re.sub(r"\D", "", spaced) == re.sub(r"\D", "", national)
    return spaced if re.fullmatch(r"[0-9]+( [0-9]+)+", spaced) and same_digits else national


def dial_phone(raw: str) -> str:
    """The number in dialable form: E.164 ("+441324503650"), or the short code itself."""
    if raw in EMERGENCY_CODES | NON_EMERGENCY_CODES:
        return raw
    return phonenumbers.format_number(_parse_uk(raw), phonenumbers.PhoneNumberFormat.E164)


# -- office hours ---------------------------------------------------------------------------------
Interval = tuple[dt.time, dt.time]
# "24:00" as a closing time: the end of the day (every clock time compares below it).
END_OF_DAY = dt.time.max


def _clock_text(t: dt.time) -> str:
    return "24:00" if t == END_OF_DAY else f"{t:%H:%M}"


def _day_hours(value: Any) -> Any:
    """'08:45-16:45', '08:45-12:30, 13:30-16:45' or 'closed' -> tuple of (open, close) times."""
    if not isinstance(value, str):
        raise ValueError("write hours as text like '08:45-16:45', or 'closed'")
    text = value.strip().lower()
    if text == "closed":
        return ()
    out: list[Interval] = []
    for part in text.split(","):
        m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*", part)
        if not m:
            raise ValueError(f"'{part.strip()}' is not like '08:45-16:45'")
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        midnight = (h2, m2) == (24, 0)
        if h1 > 23 or (h2 > 23 and not midnight) or m1 > 59 or m2 > 59:
            raise ValueError(f"'{part.strip()}' is not a valid time range (00:00 to 24:00)")
        start, end = dt.time(h1, m1), END_OF_DAY if midnight else dt.time(h2, m2)
        if end <= start:
            raise ValueError(
                f"'{part.strip()}': closing time {_clock_text(end)} is not after opening time {start:%H:%M}"
            )
        if out and start < out[-1][1]:
            raise ValueError(f"'{part.strip()}' starts before the previous range ends")
        out.append((start, end))
    return tuple(out)


DayHours = Annotated[tuple[Interval, ...], BeforeValidator(_day_hours)]


# -- the file -------------------------------------------------------------------------------------
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


class OfficeHours(_Strict):
    """When a line is answered, per weekday."""

    monday: DayHours
    tuesday: DayHours
    wednesday: DayHours
    thursday: DayHours
    friday: DayHours
    saturday: DayHours
    sunday: DayHours

    def on(self, weekday: int) -> tuple[Interval, ...]:
        """Opening intervals on a weekday (0 = Monday)."""
        hours: tuple[Interval, ...] = getattr(self, WEEKDAYS[weekday])
        return hours


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
                _holiday_calendar(region)
            except (NotImplementedError, ValueError):
                raise ValueError(
                    f"unknown holidays region '{region}' (country code, then '-' and subdivision: 'GB-SCT')"
                ) from None
        return region


def _holiday_calendar(region: str) -> holidays.HolidayBase:
    country, _, subdiv = region.strip().partition("-")
    return holidays.country_holidays(country.upper(), subdiv=subdiv.upper() or None)


class ContactsError(DataFileError):
    """The contacts file is broken."""


def week_text(hours: OfficeHours) -> str:
    """A week's hours in a few words: 'Mon-Thu 08:45-16:45; Fri 08:45-15:55'."""
    days = [", ".join(f"{a:%H:%M}-{_clock_text(b)}" for a, b in hours.on(d)) for d in range(7)]
    out: list[str] = []
    d = 0
    while d < 7:
        end = d
        while end + 1 < 7 and days[end + 1] == days[d]:
            end += 1
        if days[d]:
            name = WEEKDAYS[d][:3].title()
            out.append(f"{name}{'-' + WEEKDAYS[end][:3].title() if end > d else ''} {days[d]}")
        d = end + 1
    return "; ".join(out)


def _uncovered(intervals: list[Interval]) -> list[Interval]:
    """The parts of a day (00:00 to 24:00) that none of the intervals covers."""
    gaps: list[Interval] = []
    reached = dt.time(0, 0)
    for start, end in sorted(intervals):
        if start > reached:
            gaps.append((reached, start))
        reached = max(reached, end)
    if reached < END_OF_DAY:
        gaps.append((reached, END_OF_DAY))
    return gaps


def cover_gaps(c: ContactsFile) -> list[str]:
    """Times of an ordinary week when neither the office nor the out-of-hours service answers,
    as ``'monday 16:45-17:00'``; [] when social work can always be reached."""
    out: list[str] = []
    for day in range(7):
        both = [*c.office_hours.on(day), *c.social_work.out_of_hours.open.on(day)]
        out += [f"{WEEKDAYS[day]} {a:%H:%M}-{_clock_text(b)}" for a, b in _uncovered(both)]
    return out


def _cross_check(c: ContactsFile) -> list[str]:
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


def parse_directory(data: Any, source: str = "<contacts>") -> YamlDirectory:
    """Validate already-parsed YAML data; raise :class:`ContactsError` listing every problem."""
    try:
        config = ContactsFile.model_validate(data)
    except ValidationError as err:
        raise ContactsError(source, pydantic_problems(err)) from None
    problems = _cross_check(config)
    if problems:
        raise ContactsError(source, problems)
    return YamlDirectory(config, source)


def load_directory(path: Path | str) -> YamlDirectory:
    """Load and validate a contacts file; raise :class:`ContactsError` naming file, field and problem."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise ContactsError(str(path), [f"(file): cannot read: {err}"]) from None
    return parse_directory(data, str(path))


# -- the directory --------------------------------------------------------------------------------
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


class YamlDirectory:
    """Contacts from a validated contacts file; implements ``flows.contacts.Directory``."""

    def __init__(self, config: ContactsFile, source: str = "<contacts>") -> None:
        self.config = config
        self.source = source
        self.zone = ZoneInfo(config.timezone)
        self._holidays = _holiday_calendar(config.holidays_region) if config.holidays_region else None

    @property
    def services(self) -> list[tuple[str, str]]:
        """(code, button label) of each service, in file order."""
        return [(s.code, s.label) for s in self.config.services]

    @property
    def is_example(self) -> bool:
        """True while the file says ``example: true``."""
        return self.config.example

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
                return Route(True, f"{weekday} {clock:%H:%M} — office hours (until {_clock_text(end)})")
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
            return self._designated(service, None if route.in_hours else ooh)
        raise KeyError(role)

    def reference_lines(self) -> list[ContactLine]:
        """Every contact with its hours, whatever the time: for the printed quick reference."""
        c = self.config
        office = _line(c.social_work.office)
        hours = week_text(c.office_hours)
        return [
            _line(c.police.emergency),
            *(_line(s.designated, f"{s.label}: {s.designated.title}") for s in c.services),
            ContactLine(office.name, office.phone, f"{hours}, not public holidays", office.tel),
            _line(c.social_work.out_of_hours),
            _line(c.police.non_emergency),
            *(
                _line(x)
                for x in (c.national.nspcc, c.national.childline, c.national.ceop, c.national.stop_it_now)
            ),
        ]

    def _designated(self, service: str | None, ooh: ContactLine | None) -> list[ContactLine]:
        """The service's designated person(s). Out of hours (``ooh`` given), one who may not be
        there is shown "when next available", followed by the out-of-hours social work line
        (the same line as social_work's, so a screen listing both roles shows it once)."""
        chosen = self._service(service)
        many = len(chosen) > 1
        lines: list[ContactLine] = []
        for s in chosen:
            line = _line(s.designated, f"{s.label}: {s.designated.title}" if many else None)
            if ooh is not None and not s.designated.available_out_of_hours:
                line = ContactLine(line.name, line.phone, f"when next available: {line.detail}", line.tel)
            lines.append(line)
        if ooh is not None and not all(s.designated.available_out_of_hours for s in chosen):
            lines.append(ooh)
        return lines


# -- ready for real use? --------------------------------------------------------------------------
_PLACEHOLDER = re.compile(
    r"\b(example|todo|tbc|tbd|fixme|placeholder|dummy|lorem)\b|change[\s_-]*me|x{3,}|<[^>]*>|\?{2,}", re.I
)
# Ofcom ranges reserved for drama (never allocated), as national significant numbers.
_FAKE_NUMBERS = re.compile(
    r"(11[3-8]|121|131|141|151|161)4960\d{3}|2079460\d{3}|2896496\d{3}|2920180\d{3}|1632960\d{3}"
    r"|7700900\d{3}|8081570\d{3}|9098790\d{3}|3069990\d{3}"
    r"|1234567890|123456789|(\d)\2+"  # typed-in fakes: 01234 567890, 0123456789, 00000000000
)


def _walk(value: Any, path: str) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in _walk(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list | tuple):
        return [x for i, v in enumerate(value) for x in _walk(v, f"{path}[{i}]")]
    return [(path, value)]


def _phone_problem(raw: str, path: str) -> str | None:
    if path.startswith("police.") and raw in EMERGENCY_CODES | NON_EMERGENCY_CODES:
        return None
    try:
        num = _parse_uk(raw)
    except ValueError as err:
        return f"{path}: {err}"
    if _FAKE_NUMBERS.fullmatch(phonenumbers.national_significant_number(num)):
        return f"{path}: '{raw}' is a placeholder or fictional (Ofcom drama) number; put in the real number"
    if not phonenumbers.is_valid_number(num):
        return f"{path}: '{raw}' does not parse as a real UK phone number"
    return None


def check_deployable(directory: Directory) -> list[str]:
    """What stops these contacts from going live, one ``field: problem`` line each; [] when ready.

    Telegram mode refuses to start unless this is empty: an example file, a placeholder left in
    any text, or a number that is not a real UK number would send a worried practitioner nowhere.
    """
    if not isinstance(directory, YamlDirectory):
        return ["contacts: no contacts file is configured (set CONTACTS_FILE to your contacts YAML)"]
    problems: list[str] = [
        f"social_work.out_of_hours.open: {gap}: neither the office nor the out-of-hours service answers"
        " (practitioners would be sent to police 101); make the hours meet"
        for gap in cover_gaps(directory.config)
    ]
    if directory.config.example:
        problems.append(
            "example: the file is marked as an example; fill in every contact, then 'example: false'"
        )
    for path, value in _walk(directory.config.model_dump(mode="json"), ""):
        if not isinstance(value, str):
            continue
        if path.endswith(".phone"):
            problem = _phone_problem(value, path)
            if problem:
                problems.append(problem)
        elif _PLACEHOLDER.search(value):
            problems.append(f"{path}: '{value}' looks like a placeholder; replace it with the real value")
    return problems
