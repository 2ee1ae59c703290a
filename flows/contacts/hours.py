"""Opening hours in the contacts file: the '08:45-16:45' grammar, a weekly schedule, and the
gaps a schedule leaves."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

Interval = tuple[dt.time, dt.time]
# "24:00" as a closing time: the end of the day (every clock time compares below it).
END_OF_DAY = dt.time.max


def clock_text(t: dt.time) -> str:
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
                f"'{part.strip()}': closing time {clock_text(end)} is not after opening time {start:%H:%M}"
            )
        if out and start < out[-1][1]:
            raise ValueError(f"'{part.strip()}' starts before the previous range ends")
        out.append((start, end))
    return tuple(out)


DayHours = Annotated[tuple[Interval, ...], BeforeValidator(_day_hours)]


class OfficeHours(BaseModel):
    """When a line is answered, per weekday."""

    model_config = ConfigDict(extra="forbid", frozen=True)

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


def week_text(hours: OfficeHours) -> str:
    """A week's hours in a few words: 'Mon-Thu 08:45-16:45; Fri 08:45-15:55'."""
    days = [", ".join(f"{a:%H:%M}-{clock_text(b)}" for a, b in hours.on(d)) for d in range(7)]
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


def uncovered(intervals: list[Interval]) -> list[Interval]:
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
