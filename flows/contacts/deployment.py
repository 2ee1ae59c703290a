"""Ready for real use? What stops a contacts file from going live: the example flag, a
placeholder left in any text, a number that is not a real UK number, a gap in social-work cover,
a contact line that does not say when it was last checked and by which role, or was checked too
long ago (``verification`` in the file: a warning after some months, refused after more)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import phonenumbers
import yaml

from flows.contacts.directory import YamlDirectory, parse_directory
from flows.contacts.file import ContactsError, ContactsFile, Designated, Line, named
from flows.contacts.hours import WEEKDAYS, clock_text, uncovered
from flows.contacts.model import Directory
from flows.contacts.phones import EMERGENCY_CODES, NON_EMERGENCY_CODES, parse_uk
from flows.schema import safe_yaml


def cover_gaps(c: ContactsFile) -> list[str]:
    """Times of an ordinary week when neither the office nor the out-of-hours service answers,
    as ``'monday 16:45-17:00'``; [] when social work can always be reached."""
    out: list[str] = []
    for day in range(7):
        both = [*c.office_hours.on(day), *c.social_work.out_of_hours.open.on(day)]
        out += [f"{WEEKDAYS[day]} {a:%H:%M}-{clock_text(b)}" for a, b in uncovered(both)]
    return out


_PLACEHOLDER = re.compile(
    r"\b(example|todo|tbc|tbd|fixme|placeholder|dummy|lorem)\b|change[\s_-]*me|x{3,}|<[^>]*>|\?{2,}", re.I
)
# Ofcom ranges reserved for drama (never allocated), as national significant numbers.
_FAKE_NUMBERS = re.compile(
    r"(11[3-8]|121|131|141|151|161)4960\d{3}|2079460\d{3}|2896496\d{3}|2920180\d{3}|1632960\d{3}"
    r"|7700900\d{3}|8081570\d{3}|9098790\d{3}|3069990\d{3}"
    r"|1234567890|123456789|(\d)\2+"  # typed-in fakes: 01234 567890, 0123456789, 00000000000
)


EXAMPLE_PROBLEM = "example: the file is marked as an example; fill in every contact, then 'example: false'"


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
        num = parse_uk(raw)
    except ValueError as err:
        return f"{path}: {err}"
    if _FAKE_NUMBERS.fullmatch(phonenumbers.national_significant_number(num)):
        return f"{path}: '{raw}' is a placeholder or fictional (Ofcom drama) number; put in the real number"
    if not phonenumbers.is_valid_number(num):
        return f"{path}: '{raw}' does not parse as a real UK phone number"
    return None


def _text_problems(data: Any) -> list[str]:
    """Placeholders and numbers that are not real, in every text of the (dumped or raw) data."""
    problems: list[str] = []
    for path, value in _walk(data, ""):
        if not isinstance(value, str):
            continue
        if path.endswith(".phone"):
            problem = _phone_problem(value, path)
            if problem:
                problems.append(problem)
        elif _PLACEHOLDER.search(value):
            problems.append(f"{path}: '{value}' looks like a placeholder; replace it with the real value")
    return problems


def check_deployable(directory: Directory, today: dt.date | None = None) -> list[str]:
    """What stops these contacts from going live, one ``field: problem`` line each; [] when ready.

    Telegram mode refuses to start unless this is empty: an example file, a placeholder left in
    any text, or a number that is not a real UK number would send a worried practitioner nowhere.
    With ``today`` (local date), a line last checked more than ``refuse_after_months`` ago too.
    """
    if not isinstance(directory, YamlDirectory):
        return ["contacts: no contacts file is configured (set CONTACTS_FILE to your contacts YAML)"]
    config = directory.config
    problems: list[str] = [
        f"social_work.out_of_hours.open: {gap}: neither the office nor the out-of-hours service answers"
        " (practitioners would be sent to police 101); make the hours meet"
        for gap in cover_gaps(config)
    ]
    if config.example:
        problems.append(EXAMPLE_PROBLEM)
    dumped = config.model_dump(mode="json")
    problems += _text_problems(dumped)
    problems += verification_problems(config, today)[0]
    return [named(p, dumped) for p in problems]


# -- when each contact was last checked ------------------------------------------------------------
def contact_lines(c: ContactsFile) -> Iterator[tuple[str, Line | Designated]]:
    """Every contact line the file itself gives, with its path (services by index; see ``named``).
    Police and national lines the file leaves out are the shipped ones (flows/contacts/model.py)."""
    for i, svc in enumerate(c.services):
        yield f"services[{i}].designated", svc.designated
    yield "social_work.office", c.social_work.office
    yield "social_work.out_of_hours", c.social_work.out_of_hours
    for group in ("police", "national"):
        if group in c.model_fields_set:
            section = getattr(c, group)
            for role in type(section).model_fields:
                if role in section.model_fields_set:
                    yield f"{group}.{role}", getattr(section, role)
    if c.content_owner is not None:
        yield "content_owner", c.content_owner


def months_between(earlier: dt.date, later: dt.date) -> int:
    """Whole months from ``earlier`` to ``later`` (31 January to 28 February: 0)."""
    return (later.year - earlier.year) * 12 + later.month - earlier.month - (later.day < earlier.day)


def verification_problems(c: ContactsFile, today: dt.date | None) -> tuple[list[str], list[str]]:
    """(problems, warnings) about when each line was checked: a line that does not say when and
    by which role is a problem; with ``today``, one checked more than ``refuse_after_months`` ago
    (or in the future) is a problem, more than ``warn_after_months`` ago a warning."""
    problems: list[str] = []
    warnings: list[str] = []
    v = c.verification
    for path, line in contact_lines(c):
        missing = [f for f in ("verified_on", "verified_by") if getattr(line, f) is None]
        if missing:
            problems.append(
                f"{path}: say when this contact was last checked and by which role"
                f" ({' and '.join(missing)} missing, e.g. verified_on: 2026-12-01,"
                " verified_by: Child protection lead officer)"
            )
            continue
        if today is None or line.verified_on is None:
            continue
        months = months_between(line.verified_on, today)
        when = f"last checked on {line.verified_on:%Y-%m-%d} by {line.verified_by}"
        if line.verified_on > today:
            problems.append(f"{path}.verified_on: {line.verified_on:%Y-%m-%d} is in the future")
        elif months >= v.refuse_after_months:
            problems.append(
                f"{path}: {when}, {months} months ago (refused after {v.refuse_after_months});"
                " check it with the service, then update verified_on"
            )
        elif months >= v.warn_after_months:
            warnings.append(
                f"{path}: {when}, {months} months ago; check it before {v.refuse_after_months}"
                " months, when it will be refused"
            )
    return problems, warnings


def contact_warnings(directory: Directory, today: dt.date) -> list[str]:
    """Lines due for a check soon (``warn_after_months``), one ``field: warning`` line each."""
    if not isinstance(directory, YamlDirectory):
        return []
    dumped = directory.config.model_dump(mode="json")
    return [named(w, dumped) for w in verification_problems(directory.config, today)[1]]


def oldest_check(directory: Directory) -> str | None:
    """The contact line checked longest ago, as 'path, checked on DATE by ROLE', or None."""
    if not isinstance(directory, YamlDirectory):
        return None
    dated = [(line.verified_on, path, line.verified_by) for path, line in contact_lines(directory.config)]
    known = sorted((d, p, by) for d, p, by in dated if d is not None)
    if not known:
        return None
    day, path, by = known[0]
    return named(f"{path}, checked on {day:%Y-%m-%d} by {by}", directory.config.model_dump(mode="json"))


def all_problems(data: Any, source: str, today: dt.date | None) -> tuple[list[str], list[str]]:
    """(problems, warnings) of parsed contacts data, all at once: when its structure is broken,
    the placeholders and numbers in the rest of it are still listed, so fixing one problem does not
    reveal the next."""
    try:
        directory = parse_directory(data, source)
    except ContactsError as err:
        broken = {p.split(":")[0] for p in err.problems}
        more = _text_problems(data)
        if isinstance(data, dict) and data.get("example") is True:
            more.append(EXAMPLE_PROBLEM)
        extra = [named(p, data) for p in more if named(p, data).split(":")[0] not in broken]
        return err.problems + extra, []
    warnings = contact_warnings(directory, today) if today is not None else []
    return check_deployable(directory, today), warnings


def file_problems(path: Path, today: dt.date | None) -> tuple[list[str], list[str]]:
    """(problems, warnings) of the contacts file at ``path``, every one at once (``all_problems``)."""
    try:
        data = safe_yaml(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        return [f"(file): cannot read: {err}"], []
    return all_problems(data, str(path), today)
