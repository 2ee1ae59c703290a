"""What a content change does to every answer a practitioner can give, before it goes live.

``cse-triage impact OLD NEW`` compares two content files over the whole answer space, not a
sample. The answer space is far too big to list (every subset of 30-odd items, times the
choices), so it is cut into *equivalence classes* the rules cannot tell apart, derived from the
conditions of both files and the items' properties:

- **items**: two items that play the same role in every condition of both files (for example
  two indicators that are neither significant nor named by any condition) are interchangeable;
  within such a class only how many are ticked matters, and only up to the largest count any
  condition asks for (``indicators_at_least``), else only none or some;
- **"Not sure"**: two sets of steps answered "Not sure" are the same when every ``unsure_any``
  condition holds for both or for neither;
- **single choices**: two options of a step are the same when every condition on that step
  holds for both or neither and they lead to the same place (``goto``); a step is branched on
  only where one of the files can ask it after the earlier answers (a follow-up question such
  as when an assault happened is walked only with the tick that asks it);
- **situation blocks** that only explain (no action, no contact) change nothing compared here,
  so they split no class.

The sets of ticks are built class by class (what every item condition makes of the ticks so far:
"is one ticked", or a count up to its cap), keeping apart the items whose meaning depends on other
answers (asked only at some ages, serious only with a follow-up answer).

Each class is realised as one representative answer, walked through each file's steps (so a
step one file skips is skipped), and its outcome compared: the level, the first step of "What to
do now" and the contact roles shown, in office hours, out of hours and in a gap in social work
cover (moments from the contacts file). The service is the contacts file's first one: no
condition reads it, and its contacts are the same file on both sides.

The number of classes grows with every item that plays a role of its own; past ``BUDGET``
combinations walked ``impact`` says so instead of running for hours (``--budget`` raises it).
Content 2.1.0 against itself: 88,501 classes, about 30 s of CPU on the reference machine
(`cse-triage impact flows/content/cse.yaml flows/content/cse.yaml`).

A new kind of condition in ``flows/schema/condition.py`` needs one line here: how an item plays a role in
it (``ITEM_ROLES``), or what counts it (``COUNTS``), or which step answers it reads
(``STEP_KINDS``, ``UNSURE_KINDS``). An unknown kind stops ``impact`` with a message naming it.
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from flows.cases import PERIODS, Case, Period, Run, contact_roles, coverage, moments, run_library
from flows.contacts import Directory
from flows.machine import OUTCOME, Conversation, Flow
from flows.rules import Result, evaluate, holds
from flows.schema import Condition, Content
from flows.screens import Context, Screens

# How an item takes part in a condition of each kind (True: the item can make it hold).
ITEM_ROLES: dict[str, Callable[[Content, Condition, str], bool]] = {
    "any_indicator": lambda c, cond, i: i in c.indicator_ids,
    "any_factor": lambda c, cond, i: i in c.factor_ids,
    "items_any": lambda c, cond, i: i in (cond.items_any or []),
    "any_strong": lambda c, cond, i: i in c.strong_ids,
    "indicators_at_least": lambda c, cond, i: i in c.indicator_ids,
    # Issue 20's kinds, read by name so that this module works before and after them.
    "specific_at_least": lambda c, cond, i: i in c.indicator_ids - getattr(c, "general_ids", frozenset()),
}
# Conditions that count items: the count they ask for.
COUNTS: dict[str, Callable[[Condition], int]] = {
    "indicators_at_least": lambda cond: cond.indicators_at_least or 1,
    "specific_at_least": lambda cond: getattr(cond, "specific_at_least", None) or 1,
}
# Conditions on a single-choice step: (step id, the option codes that make it hold).
STEP_KINDS: dict[str, Callable[[Condition], tuple[str, frozenset[str]]]] = {
    "step": lambda cond: (cond.step or "", frozenset(cond.any_of or [])),
}
# Conditions on "Not sure": the steps whose "Not sure" makes it hold.
UNSURE_KINDS: dict[str, Callable[[Condition], frozenset[str]]] = {
    "unsure_any": lambda cond: frozenset(cond.unsure_any or []),
}
NESTED = ("all", "any")
NAMED = "is_"  # a named condition of the content's ``conditions``: read as the condition itself
PARTNERS = {"any_of"}  # fields that only go with another kind (``step``)


class ImpactError(ValueError):
    """The content uses a kind of condition this module does not know yet."""


def kind(cond: Condition) -> str:
    """The one kind of test a condition makes (its field that is set)."""
    kinds = [
        name for name in type(cond).model_fields if name not in PARTNERS and getattr(cond, name) is not None
    ]
    if len(kinds) != 1:  # pragma: no cover - the schema allows exactly one
        raise ImpactError(f"a condition with kinds {kinds}")
    return kinds[0]


def item_conditions(content: Content) -> list[Condition]:
    """The conditions items carry: when each is asked (``show_if``) and when it is serious."""
    items = (*content.indicators, *content.factors)
    return [c for it in items for c in (getattr(it, "show_if", None), getattr(it, "strong_if", None)) if c]


def atoms(content: Content) -> list[Condition]:
    """Every non-nested condition in the content: rules, situation blocks, variants, show_if,
    and the items' own conditions."""
    roots: list[Condition] = [r.when for r in content.rules]
    # A situation block that only explains (no action, no contact) changes nothing compared here.
    roots += [a.when for a in content.addenda if a.actions or a.contacts]
    roots += [v.when for o in content.outcomes.values() for v in o.variants]
    roots += [s.show_if for s in content.steps if s.show_if is not None]
    roots += item_conditions(content)
    out: list[Condition] = []
    named = getattr(content, "conditions", {})

    def visit(cond: Condition) -> None:
        k = kind(cond)
        if k == NAMED:
            visit(named[getattr(cond, NAMED)])
            return
        if k in NESTED:
            for sub in getattr(cond, k):
                visit(sub)
            return
        if k not in ITEM_ROLES and k not in STEP_KINDS and k not in UNSURE_KINDS:
            raise ImpactError(
                f"condition kind '{k}' is new to flows/impact.py: say how it reads the answers "
                "(ITEM_ROLES, COUNTS, STEP_KINDS or UNSURE_KINDS)"
            )
        out.append(cond)

    for root in roots:
        visit(root)
    return out


# -- the classes -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ItemClass:
    items: tuple[str, ...]
    cap: int  # counts from 0 to cap are told apart; more than cap is the same as cap


def asked_items(content: Content) -> dict[str, str]:
    """Item id -> the multi step asking it."""
    return {i: s.id for s in content.steps if s.kind == "multi" for i in s.items}


def item_classes(contents: tuple[Content, ...]) -> list[ItemClass]:
    """Items grouped by the role they play in every condition of every file."""
    per_content = [(c, atoms(c), asked_items(c)) for c in contents]
    order: list[str] = []
    for _, _, asked in per_content:
        order += [i for i in asked if i not in order]
    groups: dict[tuple[Any, ...], list[str]] = {}
    for item in order:
        sig: list[Any] = []
        for c, conds, asked in per_content:
            step = asked.get(item)
            hidden = step is not None and c.step(step).show_if is not None
            sig.append((step is not None, step if hidden else None))
            sig += [ITEM_ROLES[kind(a)](c, a, item) for a in conds if kind(a) in ITEM_ROLES]
            if step is not None:
                # When it is asked and when it is serious (e.g. by age) tell items apart too.
                it = c.item(item)
                own = (getattr(it, "show_if", None), getattr(it, "strong_if", None))
                sig.append(tuple(None if x is None else x.model_dump_json() for x in own))
        groups.setdefault(tuple(sig), []).append(item)
    classes = []
    for members in groups.values():
        cap = 1
        for c, conds, _ in per_content:
            for a in conds:
                k = kind(a)
                if k in COUNTS and ITEM_ROLES[k](c, a, members[0]):
                    cap = max(cap, COUNTS[k](a))
        classes.append(ItemClass(tuple(members), min(cap, len(members))))
    return classes


def unsure_classes(contents: tuple[Content, ...]) -> list[frozenset[str]]:
    """One smallest set of "Not sure" steps for each way the ``unsure_any`` conditions can fall."""
    steps: list[str] = []
    for c in contents:
        steps += [s.id for s in c.steps if s.kind == "multi" and s.id not in steps]
    sets = [UNSURE_KINDS[kind(a)](a) for c in contents for a in atoms(c) if kind(a) in UNSURE_KINDS]
    seen: dict[tuple[bool, ...], frozenset[str]] = {}
    for size in range(len(steps) + 1):
        for combo in itertools.combinations(steps, size):
            chosen = frozenset(combo)
            seen.setdefault(tuple(bool(chosen & s) for s in sets), chosen)
    return list(seen.values())


def option_classes(contents: tuple[Content, ...], flows: tuple[Flow, ...]) -> dict[str, list[list[str]]]:
    """For each single-choice step of either file: its options grouped by what tells them apart."""
    conds = [(STEP_KINDS[kind(a)](a)) for c in contents for a in atoms(c) if kind(a) in STEP_KINDS]
    out: dict[str, list[list[str]]] = {}
    for flow in flows:
        for step in flow.steps:
            if step.kind == "multi" or step.id in out:
                continue
            codes: list[str] = []
            for f in flows:
                if step.id in {s.id for s in f.steps}:
                    codes += [code for code, _ in f.options(f.step(step.id)) if code not in codes]
            if step.kind == "service":
                codes = codes[:1]  # no condition reads the service; contacts are the same file
            groups: dict[tuple[Any, ...], list[str]] = {}
            for code in codes:
                sig: list[Any] = [code in values for sid, values in conds if sid == step.id]
                for f in flows:
                    known = step.id in {s.id for s in f.steps}
                    goto = (
                        next((o.goto for o in f.step(step.id).options if o.code == code), None)
                        if known
                        else None
                    )
                    sig.append(goto)
                groups.setdefault(tuple(sig), []).append(code)
            out[step.id] = list(groups.values())
    return out


# -- realising an answer -----------------------------------------------------------------------
@dataclass(frozen=True)
class Answer:
    """A representative answer: single choices, ticked items, steps answered "Not sure"."""

    answers: tuple[tuple[str, str], ...]
    ticked: frozenset[str]
    unsure: frozenset[str]

    def describe(self, content: Content | None = None) -> str:
        parts = [f"{k}={v}" for k, v in self.answers]
        if self.ticked:
            parts.append("ticked: " + ", ".join(sorted(self.ticked)))
        if self.unsure:
            parts.append("not sure: " + ", ".join(sorted(self.unsure)))
        return "; ".join(parts) or "(nothing)"


def realise(
    flow: Flow, answers: dict[str, str], ticked: frozenset[str], unsure: frozenset[str]
) -> Conversation:
    """The conversation these answers make in this file's flow (steps it skips are skipped)."""
    conv = Conversation()
    state = flow.steps[0].id
    while state != OUTCOME:
        step = flow.step(state)
        if step.kind == "multi":
            conv.picked[step.id] = [i for i in step.items if i in ticked]
            if step.id in unsure:
                conv.unsure.append(step.id)
            state = flow.next_after(conv, step.id)
            continue
        code = answers.get(step.id)
        options = [c for c, _ in flow.options(step)]
        if code not in options:
            code = options[0]
        conv.answers[step.id] = code
        goto = next((o.goto for o in step.options if o.code == code), None)
        state = flow.next_after(conv, step.id, goto)
    conv.state = OUTCOME
    return conv


def key_of(conv: Conversation) -> tuple[Any, ...]:
    return (
        tuple(sorted(conv.answers.items())),
        tuple(sorted((k, tuple(v)) for k, v in conv.picked.items() if v)),
        tuple(sorted(conv.unsure)),
    )


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


BUDGET = 2_000_000  # combinations walked before giving up (about a minute on the reference machine)


def answer_space(
    old: Content, new: Content, old_flow: Flow, new_flow: Flow, budget: int = BUDGET
) -> Iterator[tuple[Answer, Conversation, Conversation]]:
    """One representative answer per class both files can tell apart, realised in each."""
    contents, flows = (old, new), (old_flow, new_flow)
    classes = item_classes(contents)
    options = option_classes(contents, flows)
    single_steps = list(options)
    reps = _tick_classes(contents, classes)
    walked = 0
    seen: set[tuple[Any, ...]] = set()
    for unsure in unsure_classes(contents):
        for ticked in reps:
            for answers in _choices(contents, flows, options, ticked, unsure):
                walked += 1
                if walked > budget:
                    raise ImpactError(
                        f"the answer space of these files is more than {budget:,} combinations to walk "
                        f"({len(reps):,} sets of ticks), over the budget of {budget:,}: raise it with "
                        "--budget, or compare a smaller change (see docs/adapting.md)"
                    )
                convs = (
                    realise(old_flow, answers, ticked, unsure),
                    realise(new_flow, answers, ticked, unsure),
                )
                pair = (key_of(convs[0]), key_of(convs[1]))
                if pair in seen:
                    continue
                seen.add(pair)
                used = {**convs[0].answers, **convs[1].answers}
                answer = Answer(
                    tuple((s, used[s]) for s in single_steps if s in used),
                    frozenset(i for c in convs for i in c.items()),
                    frozenset(s for c in convs for s in c.unsure),
                )
                yield answer, convs[0], convs[1]


def _tick_classes(contents: tuple[Content, ...], classes: list[ItemClass]) -> list[frozenset[str]]:
    """One set of ticks for each way the item conditions can fall.

    Every item condition asks whether an item with some role is ticked, or counts such items up
    to a cap, so the conditions' values are built class by class (a small dynamic programme over
    the classes, instead of trying every product of counts). The counts of items whose meaning
    depends on other answers (asked only at some ages, serious only with a follow-up answer) are
    kept apart, so two sets of ticks that differ in them are never taken for one."""
    item_atoms = [(c, a) for c in contents for a in atoms(c) if kind(a) in ITEM_ROLES]
    roles = [[ITEM_ROLES[kind(a)](c, a, cl.items[0]) for c, a in item_atoms] for cl in classes]
    caps = [COUNTS[kind(a)](a) if kind(a) in COUNTS else 1 for _, a in item_atoms]
    by_answers = {it.id for c in contents for it in (*c.indicators, *c.factors) if it.show_if or it.strong_if}
    own = {n for n, cl in enumerate(classes) if by_answers & set(cl.items)}
    states: dict[tuple[Any, ...], tuple[int, ...]] = {((0,) * len(item_atoms), ()): ()}
    for n, cl in enumerate(classes):
        grown_states: dict[tuple[Any, ...], tuple[int, ...]] = {}
        for (values, kept), counts in states.items():
            for k in range(cl.cap + 1):
                grown = tuple(
                    min(cap, v + k) if role else v
                    for v, role, cap in zip(values, roles[n], caps, strict=True)
                )
                grown_states.setdefault((grown, (*kept, k) if n in own else kept), (*counts, k))
        states = grown_states
    return [
        frozenset(i for cl, k in zip(classes, counts, strict=True) for i in cl.items[:k])
        for counts in states.values()
    ]


def _choices(
    contents: tuple[Content, ...],
    flows: tuple[Flow, ...],
    options: dict[str, list[list[str]]],
    ticked: frozenset[str],
    unsure: frozenset[str],
) -> Iterator[dict[str, str]]:
    """Every combination of single choices that can matter for these ticks: a step is branched on
    only where one of the files can ask it after the earlier answers (its ``show_if`` holds and no
    earlier choice jumped past it); elsewhere it takes its first option, as nobody is asked it."""
    steps = list(options)
    order = [{s.id: i for i, s in enumerate(f.steps)} for f in flows]

    def asked(step: str, answers: dict[str, str]) -> bool:
        conv = Conversation(answers=dict(answers), picked={"_": sorted(ticked)}, unsure=sorted(unsure))
        for c, f, pos in zip(contents, flows, order, strict=True):
            if step not in pos:
                continue
            jumped = any(
                o.goto is not None and (o.goto not in pos or pos[o.goto] > pos[step])
                for done, code in answers.items()
                if done in pos and pos[done] < pos[step]
                for o in f.step(done).options
                if o.code == code
            )
            show_if = f.step(step).show_if
            if not jumped and (show_if is None or holds(c, show_if, conv)):
                return True
        return False

    def walk(i: int, answers: dict[str, str]) -> Iterator[dict[str, str]]:
        if i == len(steps):
            yield dict(answers)
            return
        step = steps[i]
        for group in options[step] if asked(step, answers) else options[step][:1]:
            answers[step] = group[0]
            yield from walk(i + 1, answers)
        del answers[step]

    yield from walk(0, {})


# -- the report --------------------------------------------------------------------------------
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


REPRESENTATIVES = 3


def report(impact: Impact, *, fmt: str = "md", old_name: str = "OLD", new_name: str = "NEW") -> str:
    """The impact as Markdown (``md``) or a standalone HTML page (``html``)."""
    blocks = _blocks(impact, old_name, new_name)
    return _markdown(blocks) if fmt == "md" else _html(blocks, f"Impact: {old_name} -> {new_name}")


Block = tuple[str, Any]


def _blocks(impact: Impact, old_name: str, new_name: str) -> list[Block]:
    o, n = impact.old.meta, impact.new.meta
    when = ", ".join(f"{p.replace('_', ' ')} {t:%a %H:%M}" for p, t in impact.when.items() if t is not None)
    kinds = Counter(w for c in impact.changes for w in c.what)
    out: list[Block] = [
        ("h1", f"Impact of the content change {old_name} -> {new_name}"),
        (
            "p",
            f"Content version {o.version} -> {n.version}. Every answer the rules tell apart was compared: "
            f"{impact.classes} classes of answers, each at {when} (contacts file moments).",
        ),
        (
            "p",
            f"{len(impact.changes)} classes change. Level {kinds['level']}, "
            f"first step {kinds['first step']}, contacts {kinds['contacts']}.",
        ),
    ]
    if impact.changes:
        out.append(("h2", "Level, old -> new (classes of answers)"))
        out.append(
            (
                "table",
                (
                    ["old", "new", "classes"],
                    [[a, b, str(k)] for (a, b), k in sorted(impact.by_level.items())],
                ),
            )
        )
        out.append(("h2", "By rule (classes whose old or new level a rule decided)"))
        out.append(("table", (["rule", "classes"], [[r, str(k)] for r, k in sorted(impact.by_rule.items())])))
        out.append(("h2", "Representative answers"))
        groups: dict[tuple[str, str, tuple[str, ...]], list[Change]] = {}
        for c in impact.changes:
            groups.setdefault((c.old.level, c.new.level, c.what), []).append(c)
        for (a, b, what), changes in sorted(groups.items()):
            out.append(("h3", f"{a} -> {b}: {', '.join(what)} ({len(changes)} classes)"))
            items = []
            for c in changes[:REPRESENTATIVES]:
                line = c.answer.describe()
                if "first step" in what:
                    line += " | first step: " + "; ".join(
                        f"{p}: '{x}' -> '{y}'"
                        for (p, x), (_, y) in zip(c.old.first, c.new.first, strict=False)
                        if x != y
                    )
                if "contacts" in what:
                    line += " | contacts: " + "; ".join(
                        f"{p}: {', '.join(x)} -> {', '.join(y)}"
                        for (p, x), (_, y) in zip(c.old.roles, c.new.roles, strict=False)
                        if x != y
                    )
                items.append(line)
            out.append(("ul", items))
    out.append(("h2", "Case library"))
    if impact.moved_cases:
        out.append(("p", f"{len(impact.moved_cases)} library cases move (update each, with its reason):"))
        out.append(
            ("ul", [f"{case.id}: {case.situation} — {'; '.join(d)}" for case, d in impact.moved_cases])
        )
    else:
        out.append(("p", "No library case moves."))
    if impact.failing_cases:
        out.append(("p", f"{len(impact.failing_cases)} cases fail on the new content:"))
        out.append(("ul", [f"{r.case.id}: {'; '.join(r.problems)}" for r in impact.failing_cases]))
    if impact.disputed:
        out.append(("p", "Disputed cases (not run; for the content owner to judge):"))
        out.append(("ul", [f"{c.id}: {c.disputed}" for c in impact.disputed]))
    if impact.coverage_lines:
        out.append(("h2", "Coverage of the new content by the case library"))
        out.append(("ul", impact.coverage_lines))
    return out


def _markdown(blocks: list[Block]) -> str:
    lines: list[str] = []
    for tag, body in blocks:
        if tag in ("h1", "h2", "h3"):
            lines += ["#" * int(tag[1]) + " " + body, ""]
        elif tag == "p":
            lines += [body, ""]
        elif tag == "ul":
            lines += [f"- {x}" for x in body] + [""]
        elif tag == "table":
            head, rows = body
            lines.append("| " + " | ".join(head) + " |")
            lines.append("|" + "---|" * len(head))
            lines += ["| " + " | ".join(r) + " |" for r in rows]
            lines.append("")
    return "\n".join(lines)


def _html(blocks: list[Block], title: str) -> str:
    e = html.escape
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:60rem;margin:1rem auto;line-height:1.4}"
        "table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2rem .5rem}</style>",
        "</head><body>",
    ]
    for tag, body in blocks:
        if tag in ("h1", "h2", "h3", "p"):
            parts.append(f"<{tag}>{e(body)}</{tag}>")
        elif tag == "ul":
            parts.append("<ul>" + "".join(f"<li>{e(x)}</li>" for x in body) + "</ul>")
        elif tag == "table":
            head, rows = body
            parts.append(
                "<table><thead><tr>"
                + "".join(f'<th scope="col">{e(h)}</th>' for h in head)
                + "</tr></thead><tbody>"
                + "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in rows)
                + "</tbody></table>"
            )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
