"""Ready for real use? What stops a contacts file from going live: the example flag, a
placeholder left in any text, a number that is not a real UK number, a gap in social-work cover."""

from __future__ import annotations

import re
from typing import Any

import phonenumbers

from flows.contacts import Directory
from flows.contacts_file import ContactsFile
from flows.directory import YamlDirectory
from flows.hours import WEEKDAYS, clock_text, uncovered
from flows.phones import EMERGENCY_CODES, NON_EMERGENCY_CODES, parse_uk


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
