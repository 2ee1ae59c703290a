"""The comparison: what a practitioner would see for each class of answers under each file
(level, first step, contact roles, at the contacts file's moments), the classes that differ,
and the library cases the change moves."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from flows.cases import PERIODS, Case, Period, Run, contact_roles, coverage, moments, run_library
from flows.contacts import Directory
from flows.impact.space import BUDGET, Answer, answer_space
from flows.machine import Conversation, Flow
from flows.rules import Result, evaluate
from flows.schema import Content
from flows.screens import Context, Screens


@dataclass(frozen=True)
class Shown:
    """What a practitioner would see that matters here: level, first step and contact roles."""

    level: str
    first: tuple[tuple[Period, str], ...]
    roles: tuple[tuple[Period, tuple[str, ...]], ...]
    rules: tuple[str, ...]


class Outcomes:
    """Outcome keys for one file, with the screens built once per distinct result."""

    def __init__(self, flow: Flow, directory: Directory, when: dict[Period, dt.datetime | None]) -> None:
        self.flow, self.directory, self.when = flow, directory, when
        self.screens = Screens(flow)
        self.roles = contact_roles(flow.content)
        self._cache: dict[tuple[Any, ...], Shown] = {}
        self._lines: dict[tuple[str, str | None, dt.datetime], tuple[Any, ...]] = {}

    def _resolve(self, role: str, service: str | None, now: dt.datetime) -> tuple[Any, ...]:
        key = (role, service, now)
        if key not in self._lines:
            try:
                self._lines[key] = tuple(self.directory.resolve(role, service=service, now=now))
            except KeyError:
                self._lines[key] = ()
        return self._lines[key]

    def shown(self, conv: Conversation) -> Shown:
        result = evaluate(self.flow.content, conv)
        # The outcome screen's first step and contacts come from the result (level, wording,
        # situation blocks) and the service; the other answers only fill in the summary.
        service = self.flow.service_of(conv)
        cache = (result.level, result.rules, id(result.text), tuple(a.id for a in result.addenda), service)
        if cache not in self._cache:
            self._cache[cache] = self._build(conv, result)
        return self._cache[cache]

    def _build(self, conv: Conversation, result: Result) -> Shown:
        service = self.flow.service_of(conv)
        firsts, roles = [], []
        for period in PERIODS:
            now = self.when.get(period)
            if now is None:
                continue
            screen = self.screens.outcome(conv, Context(self.directory, now, service))
            todo = next(s for s in screen.sections if s.style == "numbered")
            shown = {line for s in screen.sections for line in s.contacts}
            present = [
                role
                for role in self.roles
                if (lines := self._resolve(role, service, now)) and all(line in shown for line in lines)
            ]
            firsts.append((period, todo.lines[0]))
            roles.append((period, tuple(present)))
        return Shown(result.level, tuple(firsts), tuple(roles), result.rules)


@dataclass(frozen=True)
class Change:
    answer: Answer
    old: Shown
    new: Shown

    @property
    def what(self) -> tuple[str, ...]:
        out = []
        if self.old.level != self.new.level:
            out.append("level")
        if self.old.first != self.new.first:
            out.append("first step")
        if self.old.roles != self.new.roles:
            out.append("contacts")
        return tuple(out)


@dataclass
class Impact:
    old: Content
    new: Content
    classes: int = 0
    changes: list[Change] = field(default_factory=list)
    moved_cases: list[tuple[Case, list[str]]] = field(default_factory=list)
    failing_cases: list[Run] = field(default_factory=list)
    disputed: list[Case] = field(default_factory=list)
    coverage_lines: list[str] = field(default_factory=list)
    when: dict[Period, dt.datetime | None] = field(default_factory=dict)

    @property
    def by_level(self) -> Counter[tuple[str, str]]:
        return Counter((c.old.level, c.new.level) for c in self.changes)

    @property
    def by_rule(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for c in self.changes:
            for rule in sorted(set(c.old.rules) | set(c.new.rules)):
                counts[rule] += 1
        return counts


def compare(
    old: Content,
    new: Content,
    directory: Directory,
    cases: list[Case] | None = None,
    budget: int = BUDGET,
) -> Impact:
    """Every class of answers whose level, first step or contacts differ between the files, and
    the library cases the change moves (a case moves when what it gets differs)."""
    old_flow, new_flow = Flow(old, directory.services), Flow(new, directory.services)
    when = moments(directory)
    impact = Impact(old, new, when=when)
    old_out, new_out = Outcomes(old_flow, directory, when), Outcomes(new_flow, directory, when)
    for answer, old_conv, new_conv in answer_space(old, new, old_flow, new_flow, budget):
        impact.classes += 1
        change = Change(answer, old_out.shown(old_conv), new_out.shown(new_conv))
        if change.what:
            impact.changes.append(change)
    if cases:
        old_runs = {r.case.id: r for r in run_library(old_flow, directory, cases)}
        new_runs = run_library(new_flow, directory, cases)
        for run in new_runs:
            before = old_runs[run.case.id]
            diffs = _moved(before, run)
            if diffs:
                impact.moved_cases.append((run.case, diffs))
            if run.problems:
                impact.failing_cases.append(run)
        impact.disputed = [c for c in cases if c.disputed is not None]
        impact.coverage_lines = coverage(new, directory.services, new_runs).lines()
    return impact


def _moved(before: Run, after: Run) -> list[str]:
    out = []
    for period in PERIODS:
        a, b = before.seen.get(period), after.seen.get(period)
        if a is None or b is None:
            if (a is None) != (b is None):
                out.append(
                    f"{period}: no longer reaches an outcome" if b is None else f"{period}: now reaches one"
                )
            continue
        if a.level != b.level:
            out.append(f"{period}: level {a.level} -> {b.level}")
        if a.first_step != b.first_step:
            out.append(f"{period}: first step '{a.first_step}' -> '{b.first_step}'")
        if a.roles != b.roles:
            gone, added = sorted(a.roles - b.roles), sorted(b.roles - a.roles)
            out.append(
                f"{period}: contacts"
                + (f" lost {', '.join(gone)}" if gone else "")
                + (f" gained {', '.join(added)}" if added else "")
            )
        if a.blocks != b.blocks:
            out.append(f"{period}: blocks {', '.join(a.blocks) or 'none'} -> {', '.join(b.blocks) or 'none'}")
    return list(dict.fromkeys(out))
