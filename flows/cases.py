"""The case library: practitioner cases kept with the content, run as tests of the advice.

Each case (``flows/content/cases.yaml``) is a one-line situation, the answers by code, and what
a senior practitioner expects: the level, the first step of "What to do now" and the contacts
that must appear (in office hours, out of hours, in a gap in social work cover), and the
situation blocks. It carries its reason and the public source of that reason. ``cse-triage
validate``, ``cse-triage impact`` and ``make test`` run every case through the real flow and
the real outcome screen; a content change that moves a case fails until the case is updated.

A case marked ``disputed`` (its author believes the content is wrong for it, and says why) is
not run; ``validate`` lists it for the content owner to judge.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from flows.contacts import Directory
from flows.machine import OUTCOME, Conversation, Flow
from flows.rules import evaluate
from flows.schema import Content, DataFileError, pydantic_problems, safe_yaml
from flows.screens import Context, Screens

Period = Literal["in_hours", "out_of_hours", "cover_gap"]
PERIODS: tuple[Period, ...] = ("in_hours", "out_of_hours", "cover_gap")
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,24}$")]


class CasesError(DataFileError):
    """The case file is broken (its shape, not a case's result)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ByPeriod(_Strict):
    """Something expected in office hours, out of hours, and in a gap in cover (each optional)."""

    in_hours: Any = None
    out_of_hours: Any = None
    cover_gap: Any = None

    def get(self, period: Period) -> Any:
        return getattr(self, period)


class FirstSteps(ByPeriod):
    in_hours: Text | None = None
    out_of_hours: Text | None = None
    cover_gap: Text | None = None


class Contacts(ByPeriod):
    in_hours: list[Code] | None = None
    out_of_hours: list[Code] | None = None
    cover_gap: list[Code] | None = None


class Expect(_Strict):
    level: Code
    # Words the first line of "What to do now" contains (case does not matter).
    first_step: FirstSteps = Field(default_factory=FirstSteps)
    # Contact roles whose lines must all appear under "Who to contact".
    contacts: Contacts = Field(default_factory=Contacts)
    # Situation blocks (addenda ids) that must appear, and those that must not.
    blocks: list[Code] = Field(default_factory=list)
    no_blocks: list[Code] = Field(default_factory=list)


class Case(_Strict):
    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,40}$")]
    situation: Text
    # Single-choice answers by step id (danger, age, service …); a notice step not given here is
    # answered with its first option ("continue"), the service step with the first service.
    answers: dict[Code, Code]
    ticked: list[Code] = Field(default_factory=list)
    unsure: list[Code] = Field(default_factory=list)
    expect: Expect
    reason: Text
    source: Text
    # The author believes the content is wrong here, and why: not run, listed by validate.
    disputed: Text | None = None


class Library(_Strict):
    cases: list[Case] = Field(min_length=1)


def parse_cases(data: Any, source: str = "<cases>") -> list[Case]:
    try:
        library = Library.model_validate(data)
    except ValidationError as err:
        raise CasesError(source, pydantic_problems(err)) from None
    seen: set[str] = set()
    problems = []
    for i, case in enumerate(library.cases):
        if case.id in seen:
            problems.append(f"cases[{i}].id: duplicate case id '{case.id}'")
        seen.add(case.id)
    if problems:
        raise CasesError(source, problems)
    return list(library.cases)


def load_cases(path: Path | str) -> list[Case]:
    path = Path(path)
    try:
        data = safe_yaml(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise CasesError(str(path), [f"(file): cannot read: {err}"]) from None
    return parse_cases(data, str(path))


# -- moments of the week -----------------------------------------------------------------------
# A week with no public holiday in Scotland (Monday 8 to Sunday 14 March 2027), local time.
WEEK = dt.datetime(2027, 3, 8, 0, 0)


def moments(directory: Directory) -> dict[Period, dt.datetime | None]:
    """One moment of each period in an ordinary week of the contacts file: office hours (from
    Wednesday 10:00), out of hours (from Saturday 21:00, else any) and a gap in social work cover
    (None when the file has no gap: then nothing is checked for it)."""
    steps = [WEEK + dt.timedelta(minutes=5 * i) for i in range(7 * 24 * 12)]
    routes = [(t, directory.route(t)) for t in steps]

    def first(test: Any, after: dt.datetime) -> dt.datetime | None:
        later = [t for t, r in routes if test(r) and t >= after]
        return later[0] if later else next((t for t, r in routes if test(r)), None)

    return {
        "in_hours": first(lambda r: r.in_hours, WEEK + dt.timedelta(days=2, hours=10)),
        "out_of_hours": first(lambda r: not r.in_hours and not r.gap, WEEK + dt.timedelta(days=5, hours=21)),
        "cover_gap": first(lambda r: r.gap, WEEK),
    }


# -- running a case ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Seen:
    """What one case got at one moment: the level, the first step, the contact roles whose lines
    all appeared, the situation blocks and the rules that decided the level."""

    level: str
    first_step: str
    roles: frozenset[str]
    blocks: tuple[str, ...]
    rules: tuple[str, ...]
    variant: int


@dataclass
class Run:
    """A case's run: at each moment what it got, and every way it differs from what is expected
    (empty: the case passes). ``problems`` with no ``seen`` means the answers did not fit the flow."""

    case: Case
    seen: dict[Period, Seen] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    service: str | None = None


def walk_case(flow: Flow, case: Case) -> tuple[Conversation | None, list[str]]:
    """The case's answers through the real flow, as a practitioner would tap them."""
    conv = flow.new()
    flow.fire(conv, "start")
    used_answers: set[str] = set()
    used_items: set[str] = set()
    for _ in range(len(flow.steps) + 1):
        if conv.state == OUTCOME:
            break
        step = flow.step(conv.state)
        if step.kind == "multi":
            for item in step.items:
                if item in case.ticked:
                    flow.fire(conv, "toggle", item)
                    used_items.add(item)
            ticked = bool(conv.picked.get(step.id))
            closer = (
                ("answer", "unsure")
                if step.id in case.unsure
                else ("done", None)
                if ticked
                else ("answer", "none")
            )
            if not flow.fire(conv, *closer):
                return None, [f"step '{step.id}' refused {closer[1] or closer[0]}"]
            continue
        options = [code for code, _ in flow.options(step)]
        if step.id in case.answers:
            code = case.answers[step.id]
            used_answers.add(step.id)
            if step.kind == "service" and code not in options and options:
                # Services are the deployment's own (its contacts file): a case written with
                # another file's service is run with this file's first; its roles still apply.
                code = options[0]
        elif step.kind in ("notice", "service") and options:
            code = options[0]
        else:
            return None, [f"the case does not answer step '{step.id}' (options: {', '.join(options)})"]
        if not flow.fire(conv, "answer", code):
            return None, [f"step '{step.id}' has no option '{code}' (options: {', '.join(options)})"]
    problems = [
        f"answers step '{s}', which is not asked for these answers"
        for s in case.answers
        if s not in used_answers
    ]
    problems += [
        f"ticks '{i}', which is not asked for these answers" for i in case.ticked if i not in used_items
    ]
    return (conv if conv.state == OUTCOME else None), problems


def _shown_roles(screens: Screens, conv: Conversation, ctx: Context) -> tuple[str, frozenset[str], Any]:
    """The first step, the roles whose every line is on the outcome screen, and the screen."""
    screen = screens.outcome(conv, ctx)
    todo = next(s for s in screen.sections if s.style == "numbered")
    shown = {line for s in screen.sections for line in s.contacts}
    roles = set()
    for role in contact_roles(screens.content):
        try:
            lines = ctx.directory.resolve(role, service=ctx.service, now=ctx.now)
        except KeyError:
            continue
        if lines and all(line in shown for line in lines):
            roles.add(role)
    return todo.lines[0], frozenset(roles), screen


def contact_roles(content: Content) -> list[str]:
    """Every contact role any outcome, variant or situation block of the content names."""
    roles: list[str] = []
    for out in content.outcomes.values():
        for text in (out, *out.variants):
            roles += text.contacts
    for add in content.addenda:
        roles += add.contacts
    return list(dict.fromkeys(roles))


def run_case(flow: Flow, directory: Directory, case: Case, when: dict[Period, dt.datetime | None]) -> Run:
    run = Run(case)
    conv, problems = walk_case(flow, case)
    run.problems += problems
    if conv is None:
        return run
    screens = Screens(flow)
    content = flow.content
    exp = case.expect
    if exp.level not in content.levels:
        run.problems.append(f"expects level '{exp.level}', which the content does not have")
    known_blocks = {a.id for a in content.addenda}
    for block in (*exp.blocks, *exp.no_blocks):
        if block not in known_blocks:
            run.problems.append(f"names situation block '{block}', which the content does not have")
    result = evaluate(content, conv)
    outcome = content.outcomes[result.level]
    variant = next((i + 1 for i, v in enumerate(outcome.variants) if v is result.text), 0)
    blocks = tuple(a.id for a in result.addenda)
    service = run.service = flow.service_of(conv)
    for period in PERIODS:
        now = when.get(period)
        if now is None:
            continue
        first, roles, _ = _shown_roles(screens, conv, Context(directory, now, service))
        run.seen[period] = Seen(result.level, first, roles, blocks, result.rules, variant)
    if result.level != exp.level:
        run.problems.append(
            f"level: expected {exp.level}, got {result.level} (rules {', '.join(result.rules) or 'none'})"
        )
    missing = [b for b in exp.blocks if b not in blocks]
    extra = [b for b in exp.no_blocks if b in blocks]
    if missing:
        run.problems.append(f"situation blocks missing: {', '.join(missing)}")
    if extra:
        run.problems.append(f"situation blocks that should not show: {', '.join(extra)}")
    for period in PERIODS:
        seen = run.seen.get(period)
        words, roles = exp.first_step.get(period), exp.contacts.get(period)
        if seen is None:
            continue
        if words is not None and words.lower() not in seen.first_step.lower():
            run.problems.append(f"{period}: first step should contain '{words}', got '{seen.first_step}'")
        missing_roles = [r for r in roles or [] if r not in seen.roles]
        if missing_roles:
            run.problems.append(f"{period}: contacts missing: {', '.join(missing_roles)}")
    return run


def run_library(flow: Flow, directory: Directory, cases: list[Case]) -> list[Run]:
    """Every case that is not disputed, at one moment of each period of the contacts file."""
    when = moments(directory)
    return [run_case(flow, directory, c, when) for c in cases if c.disputed is None]


# -- coverage ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Coverage:
    """Which rules, situation blocks and outcome variants the library exercises, and which not."""

    covered: dict[str, list[str]]
    missed: dict[str, list[str]]

    def lines(self) -> list[str]:
        out = []
        for what in self.covered:
            have, miss = self.covered[what], self.missed[what]
            out.append(
                f"{what}: {len(have)} of {len(have) + len(miss)}"
                + (f"; not exercised: {', '.join(miss)}" if miss else "")
            )
        return out


def coverage(content: Content, services: list[tuple[str, str]], runs: list[Run]) -> Coverage:
    """What the passing and failing runs exercised (a rule counts when it decided a level)."""
    rules = [r.id for r in content.rules]
    blocks = [a.id for a in content.addenda]
    variants = [
        f"{level}/{'base' if v == 0 else f'variant {v}'}/{period}"
        for level, out in content.outcomes.items()
        for v in range(len(out.variants) + 1)
        for period in PERIODS
    ]
    seen_rules: set[str] = set()
    seen_blocks: set[str] = set()
    seen_variants: set[str] = set()
    seen_services: set[str] = set()
    default_service = services[0][0] if services else None
    for run in runs:
        for period, s in run.seen.items():
            seen_rules.update(s.rules)
            seen_blocks.update(s.blocks)
            seen_variants.add(f"{s.level}/{'base' if s.variant == 0 else f'variant {s.variant}'}/{period}")
        if run.seen:
            seen_services.add(run.service or default_service or "")
    service_codes = [code for code, _ in services] if len(services) > 1 else []
    groups = {
        "rules": (rules, seen_rules),
        "situation blocks": (blocks, seen_blocks),
        "outcome variants": (variants, seen_variants),
        "services": (service_codes, seen_services),
    }
    return Coverage(
        {k: [x for x in all_ if x in seen] for k, (all_, seen) in groups.items()},
        {k: [x for x in all_ if x not in seen] for k, (all_, seen) in groups.items()},
    )
