"""UK phone numbers in the contacts file: parsed with ``phonenumbers``, shown as published, dialled
in E.164. Only the police lines may use the short codes 999, 112 and 101."""

from __future__ import annotations

import re
from typing import Annotated, Any

import phonenumbers
from pydantic import AfterValidator, BeforeValidator

# Short codes dial as they are; only the police lines may use them.
EMERGENCY_CODES = frozenset({"999", "112"})
NON_EMERGENCY_CODES = frozenset({"101"})


def parse_uk(raw: str) -> phonenumbers.PhoneNumber:
    """Parse a UK number written nationally or as +44; ValueError if it cannot be one."""
    if not re.fullmatch(r"[+(]?[0-9][0-9 ()\-]{2,24}", raw):
        raise ValueError(f"'{raw}' is not a phone number (use digits and spaces, e.g. '01324 503650')")
    # Written nationally, a UK number starts with 0: '1786 233185' has lost it (or never had it),
    # and guessing which number was meant could send a practitioner to the wrong one.
    if not re.match(r"\+|\(?0", raw):
        raise ValueError(f"'{raw}' has no leading 0: write the whole number in quotes, e.g. '01324 503650'")
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
    parse_uk(raw)
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


def display_phone(raw: str) -> str:
    """The number as shown: UK national format, keeping the author's grouping if digits and spaces.

    Organisations publish memorable groupings ("0808 1000 900") that differ from the standard one
    ("0808 100 0900"); both dial the same, so the published one is kept when the digits agree.
    """
    if raw in EMERGENCY_CODES | NON_EMERGENCY_CODES:
        return raw
    national = phonenumbers.format_number(parse_uk(raw), phonenumbers.PhoneNumberFormat.NATIONAL)
    spaced = " ".join(raw.split())
    same_digits = re.sub(r"\D", "", spaced) == re.sub(r"\D", "", national)
    return spaced if re.fullmatch(r"[0-9]+( [0-9]+)+", spaced) and same_digits else national


def dial_phone(raw: str) -> str:
    """The number in dialable form: E.164 ("+441324503650"), or the short code itself."""
    if raw in EMERGENCY_CODES | NON_EMERGENCY_CODES:
        return raw
    return phonenumbers.format_number(parse_uk(raw), phonenumbers.PhoneNumberFormat.E164)
