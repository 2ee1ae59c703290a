"""Anonymous figures for service leads: checks finished per week by level and service, checks
abandoned, lookups used. Counts only, from the anonymous counters; nothing per person.

Shown by `cse-triage stats` and by /stats to ADMIN_USER_IDS. Also says when the content's review
date has passed.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Sequence

from flows.schema import Content
from flows.screens import Screen, Section
from storage.base import ABANDONED, ConversationStore


def week_of(day: dt.date) -> dt.date:
    """The Monday of the week a day falls in."""
    return day - dt.timedelta(days=day.weekday())


def review_overdue(content: Content, today: dt.date) -> str | None:
    """A warning line when the content is past its review date, else None."""
    if today > content.meta.review_due:
        return (
            f"⚠️ Content {content.meta.version} was due for review on {content.meta.review_due:%d %B %Y}. "
            "It still works; ask the content owner to review it."
        )
    return None


def stats_screen(
    content: Content,
    outcomes: list[tuple[dt.date, str, str, str, int]],
    lookups: list[tuple[dt.date, str, int]],
    *,
    today: dt.date,
    weeks: int,
    feedback: Sequence[tuple[dt.date, str, int, str, int]] = (),
    channels: Sequence[tuple[dt.date, str, int]] = (),
) -> Screen:
    """The figures as a neutral screen, newest week first."""
    questioned: dict[dt.date, Counter[str]] = defaultdict(Counter)
    for day, level, blocks, version, n in feedback:
        questioned[week_of(day)][_advice(content, level, blocks, version)] += n
    by_week: dict[dt.date, Counter[str]] = defaultdict(Counter)
    by_service: dict[dt.date, Counter[str]] = defaultdict(Counter)
    for day, level, _version, service, n in outcomes:
        by_week[week_of(day)][level] += n
        if level != ABANDONED:
            by_service[week_of(day)][service or "not asked"] += n
    by_channel: dict[dt.date, Counter[str]] = defaultdict(Counter)
    for day, channel, n in channels:
        by_channel[week_of(day)][channel or "not recorded"] += n
    sections: list[Section] = []
    overdue = review_overdue(content, today)
    if overdue:
        sections.append(Section((overdue,), style="note"))
    order = [*content.levels, ABANDONED]
    for week in sorted(by_week, reverse=True):
        counts = by_week[week]
        finished = sum(n for lvl, n in counts.items() if lvl != ABANDONED)
        lines = [f"Finished: {finished}"]
        lines += [f"{lvl.replace('_', ' ')}: {counts[lvl]}" for lvl in order if counts[lvl]]
        services = ", ".join(f"{svc} {n}" for svc, n in sorted(by_service[week].items()))
        if services:
            lines.append(f"By service: {services}")
        channel_line = ", ".join(f"{ch} {n}" for ch, n in sorted(by_channel[week].items()))
        if channel_line:
            lines.append(f"By channel: {channel_line}")
        for advice, n in sorted(questioned.pop(week, Counter()).items()):
            lines.append(f"Reported a problem: {advice}: {n}")
        sections.append(Section(tuple(lines), f"Week of {week:%d %b %Y}", "bullets"))
    for week in sorted(questioned, reverse=True):  # reports in a week with no check counted
        lines = [f"Reported a problem: {advice}: {n}" for advice, n in sorted(questioned[week].items())]
        sections.append(Section(tuple(lines), f"Week of {week:%d %b %Y}", "bullets"))
    if not by_week:
        sections.append(Section(("No checks counted in this period.",)))
    used: Counter[str] = Counter()
    for _day, name, n in lookups:
        used[name] += n
    if used:
        sections.append(
            Section(tuple(f"/{name}: {n}" for name, n in used.most_common()), "Lookups used", "bullets")
        )
    sections.append(
        Section(
            (
                f"Counts only, from anonymous counters. Content {content.meta.version}.",
                "Web figures (checks and reports) come from a public page anyone can use, "
                "so they cannot be verified.",
            ),
            style="note",
        )
    )
    return Screen("stats", f"📊 Use in the last {weeks} weeks", tuple(sections))


async def load_stats(store: ConversationStore, content: Content, *, today: dt.date, weeks: int = 8) -> Screen:
    """Read the counters and build the screen."""
    since = week_of(today) - dt.timedelta(weeks=weeks - 1)
    outcomes = await store.outcome_counts(since=since)
    lookups = await store.lookup_counts(since=since)
    feedback = await store.feedback_counts(since=since)
    channels = await store.channel_counts(since=since)
    return stats_screen(
        content, outcomes, lookups, today=today, weeks=weeks, feedback=feedback, channels=channels
    )


def _advice(content: Content, level: str, blocks: int, version: str) -> str:
    """Which advice was questioned, in words: "urgent + assault, online" (content version if older)."""
    words = level.replace("_", " ")
    if version == content.meta.version:
        shown = [a.id.replace("_", " ") for i, a in enumerate(content.addenda) if blocks >> i & 1]
        if shown:
            words += " + " + ", ".join(shown)
    else:
        words += f" (content {version}, blocks {blocks:#x})"
    return words
