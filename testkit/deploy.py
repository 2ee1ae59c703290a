"""A filled-in contacts file for tests that start Telegram mode (which refuses the example)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from flows.contacts import EXAMPLE_CONTACTS

REAL_LOOKING = "01324 503650"  # a verified public number (Falkirk social work), never dialled by tests


def _fill(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v) for k, v in value.items() if k != "email"}
    if isinstance(value, list):
        return [_fill(v) for v in value]
    if isinstance(value, str):
        if value.startswith("01632"):
            return REAL_LOOKING
        return value.replace("EXAMPLE ", "")
    return value


def _checked_today(value: Any) -> None:
    """Every line checked today, so the file never ages past `verification` as the tests run on."""
    if isinstance(value, dict):
        if "verified_on" in value:
            value["verified_on"] = dt.date.today()
        for v in value.values():
            _checked_today(v)
    elif isinstance(value, list):
        for v in value:
            _checked_today(v)


def filled_contacts(folder: Path) -> Path:
    """Write a deployable copy of the example contacts file and return its path."""
    data = _fill(yaml.safe_load(EXAMPLE_CONTACTS.read_text(encoding="utf-8")))
    data["example"] = False
    _checked_today(data)
    # The example's out-of-hours team starts at 17:00, after the office shuts: close that gap.
    hours = data["social_work"]["out_of_hours"]["open"]
    for day in ("monday", "tuesday", "wednesday", "thursday"):
        hours[day] = "00:00-08:45, 16:45-24:00"
    hours["friday"] = "00:00-08:45, 15:55-24:00"
    path = folder / "contacts.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path
