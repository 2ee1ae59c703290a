"""Typed schema of the content file, and its loader.

The content file (``flows/content/cse.yaml``) holds every question, item, rule and line of
wording. It is checked twice at load: pydantic checks the shape and types, then
:func:`_cross_check` checks what pydantic cannot see (ids that must exist, ids that must be
unique, steps with a way out, outcomes with a contact). Any problem stops the load with a
:class:`ContentError` naming the file, the path inside it and the problem.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

DEFAULT_CONTENT = Path(__file__).with_name("content") / "cse.yaml"
# libyaml's safe loader where PyYAML has it (ten times faster at start-up), else the pure one.
_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_yaml(text: str) -> Any:
    """Parse YAML with a safe loader (plain data only, never objects)."""
    return yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 - CSafeLoader/SafeLoader are the safe ones


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,24}$")]
# A button label: short enough to read at a glance on a phone.
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=36)]
# An item's label, two characters shorter: ticked, it carries the picked mark ("✅ ").
ItemLabel = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=34)]

# Contact roles an outcome may name. The contacts directory (flows/contacts/) resolves them
# to names and numbers for the time of day and the practitioner's service.
ContactRole = Literal[
    "police_999",
    "police_101",
    "designated_person",
    "social_work",
    "nspcc",
    "childline",
    "ceop",
    "stop_it_now",
    "sarcs",
]
# Services only for children and young people under 18: never offered in an adult's outcome.
CHILD_ONLY_ROLES = frozenset({"nspcc", "childline", "ceop"})
# Placeholders a line of advice may hold, filled in by the screens for who answers now.
PLACEHOLDERS = frozenset({"who_now", "who_now_adult"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    title: Text
    url: Text


class Meta(_Strict):
    id: Text
    version: Text
    reviewed_on: dt.date
    review_due: dt.date
    owner: Text
    sources: list[Source] = Field(min_length=1)


# How the National Guidance for Child Protection in Scotland labels its changes (its "Changes
# to this version" table): a significant amendment (SA), new text (NT), a minor amendment (MA),
# a link update (U).
ChangeLabel = Literal["SA", "NT", "MA", "U"]


class Change(_Strict):
    """One change in a content version: its label, what changed and why."""

    label: ChangeLabel
    what: Text
    reason: Text


class Release(_Strict):
    """One content version in the changelog: its date, its changes, and who approved it.

    ``approved_by`` is a role (never a person's name); with no approval the version is a draft:
    previewed in the terminal or on the web page marked "not for use", refused by Telegram mode.
    """

    version: Text
    date: dt.date
    changes: list[Change] = Field(min_length=1)
    approved_by: Text | None = None
    approved_on: dt.date | None = None

    @model_validator(mode="after")
    def _approval(self) -> Release:
        if (self.approved_by is None) != (self.approved_on is None):
            raise ValueError("'approved_by' and 'approved_on' go together (neither: a draft)")
        return self

    @property
    def approved(self) -> bool:
        return self.approved_by is not None


class Item(_Strict):
    """One tickable thing: a possible indicator or a vulnerability factor.

    ``strong``: a significant indicator, enough on its own for an urgent outcome (see
    docs/triage-rules.md); with ``strong_if``, only while that condition holds (an item whose
    meaning changes with age), and a possible sign otherwise. ``general``: a general sign of
    distress or harm rather than one specific to exploitation (it never makes a pattern alone).
    ``show_if``: asked only when it holds (a test on the age step, e.g. not for adults); a tick
    left from another age does not count. ``source``: where the item comes from when it is not
    in the briefing.
    """

    id: Code
    label: ItemLabel
    help: Text
    source: Text | None = None
    strong: bool = False
    strong_if: Condition | None = None
    general: bool = False
    online: bool = False
    show_if: Condition | None = None
    asked_as: list[Code] = Field(default_factory=list)


class Option(_Strict):
    code: Code
    label: Label
    goto: Code | None = None


class Condition(_Strict):
    """A test on the answers. Exactly one kind of test per condition."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    step: Code | None = None
    any_of: list[Code] | None = None
    is_: Code | None = Field(default=None, alias="is")
    any_indicator: bool | None = None
    any_factor: bool | None = None
    items_any: list[Code] | None = None
    unsure_any: list[Code] | None = None
    any_strong: bool | None = None
    indicators_at_least: int | None = Field(default=None, ge=1)
    specific_at_least: int | None = Field(default=None, ge=1)
    all: list[Condition] | None = None
    any: list[Condition] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Condition:
        kinds = [
            self.step is not None or self.any_of is not None,
            self.is_ is not None,
            self.any_indicator is not None,
            self.any_factor is not None,
            self.items_any is not None,
            self.unsure_any is not None,
            self.any_strong is not None,
            self.indicators_at_least is not None,
            self.specific_at_least is not None,
            self.all is not None,
            self.any is not None,
        ]
        if sum(kinds) != 1:
            raise ValueError("a condition needs exactly one kind of test")
        if (self.step is None) != (self.any_of is None):
            raise ValueError("'step' and 'any_of' go together")
        return self


class Todo(_Strict):
    """One line of advice with its time frame (a code of the content's ``timeframes``), written
    in the file as ``- now: Call 999``."""

    when: Code
    text: Text

    def render(self, timeframes: dict[str, str], fill: dict[str, str] | None = None) -> str:
        text = self.text.format_map(fill) if fill is not None and "{" in self.text else self.text
        return f"{timeframes[self.when]}: {text}"


def _todo(value: Any) -> Any:
    if isinstance(value, str):
        raise ValueError("start a line of advice with its time frame, e.g. '- now: Call 999'")
    if isinstance(value, dict) and len(value) == 1 and "text" not in value:
        ((when, text),) = value.items()
        return {"when": when, "text": text}
    return value


TodoLine = Annotated[Todo, BeforeValidator(_todo)]


class Step(_Strict):
    id: Code
    kind: Literal["single", "multi", "notice", "service"]
    title: Text
    text: Text
    show_if: Condition | None = None
    options: list[Option] = Field(default_factory=list)
    items: list[Code] = Field(default_factory=list, max_length=7)


class MultiControls(_Strict):
    none: Label
    unsure: Label
    done: Label
    back: Label
    picked_mark: Text


class Rule(_Strict):
    """One line of the rule table: when it holds, the level is at least ``level``.

    ``id`` names the rule in docs/triage-rules.md, which gives its reason and source."""

    id: Annotated[str, StringConstraints(pattern=r"^[A-Z][0-9]{1,2}$")]
    level: Code
    when: Condition
    reason: Text


class OutcomeText(_Strict):
    """What an outcome says. ``do_now`` is for when the designated person can be reached now;
    ``do_now_out_of_hours``, when given, replaces it whenever they cannot (out of hours, or
    outside their own hours), so that someone who answers now comes first. ``lead``: this
    level's own "now" lines come before any situation block's (999 always comes first)."""

    title: Text
    summary: Text
    do_now: list[TodoLine] = Field(min_length=1)
    do_now_out_of_hours: list[TodoLine] | None = Field(default=None, min_length=1)
    contacts: list[ContactRole]
    next_tool: Text
    lead: bool = False

    def steps(self, *, designated_now: bool) -> list[Todo]:
        if designated_now or self.do_now_out_of_hours is None:
            return list(self.do_now)
        return list(self.do_now_out_of_hours)


class Variant(OutcomeText):
    """The same level said differently when ``when`` holds (e.g. for an adult): the first
    variant whose condition holds replaces the outcome's wording and contacts as a whole."""

    when: Condition


class Outcome(OutcomeText):
    variants: list[Variant] = Field(default_factory=list)

    def for_answers(self, matches: Callable[[Condition], bool]) -> OutcomeText:
        """The variant whose condition holds first, else the outcome itself."""
        return next((v for v in self.variants if matches(v.when)), self)


class Addendum(_Strict):
    """A situation block added to the outcome when its condition holds, with its source.

    ``actions`` (each with its time frame) join the outcome's "What to do now", in time order;
    ``lines`` are what to know, shown as the block after the contacts. ``label``: whom it is for
    where blocks share a title (one situation, by age), as the printed reference shows them."""

    id: Code
    when: Condition
    title: Text
    label: Text | None = None
    actions: list[TodoLine] = Field(default_factory=list)
    lines: list[Text] = Field(default_factory=list)
    contacts: list[ContactRole] = Field(default_factory=list)
    source: Text

    @model_validator(mode="after")
    def _says_something(self) -> Addendum:
        if not self.actions and not self.lines:
            raise ValueError("a situation block needs actions or lines")
        return self


class Block(_Strict):
    title: Text
    lines: list[Text] = Field(min_length=1)


class SummaryWording(_Strict):
    title: Text
    lead: Text
    age_label: Text
    level_label: Text
    indicators_label: Text
    factors_label: Text
    unsure_label: Text
    nothing: Text
    separator: str = "; "


class WhatIs(Block):
    forms: list[Text] = Field(min_length=1)


class Lookups(_Strict):
    whatis: WhatIs
    online: Block
    response: Block
    tools: Block


class WebTexts(_Strict):
    """Wording only the web page needs (its frame around the same screens)."""

    call_999: Label
    skip_link: Text
    nav_label: Text
    nav: dict[Code, Label] = Field(min_length=1)
    phase_tag: Label
    phase_text: Text
    report_problem: Label
    error_title: Text
    error_prefix: Label
    none_with_ticks: Text
    or_separator: Label
    warning: Label
    copy_button: Label
    copied: Text
    print_button: Label
    print_hint: Text
    clear_start: Label
    notice_title: Text
    bad_request_title: Text
    bad_request: Text
    not_found: Text
    as_of: Text
    quick_reference: Label
    privacy: list[Text] = Field(min_length=1)


class AboutTexts(_Strict):
    """The "About this check" page beyond its opening lines (``texts.about``). Lines in braces
    are filled in from the content file: ``{version}``, ``{date}`` (of the version), ``{role}``,
    ``{approved_on}``, ``{owner}``, ``{due}``, ``{reviewed}``."""

    audience_title: Text
    audience: list[Text] = Field(min_length=1)
    not_title: Text
    not_lines: list[Text] = Field(min_length=1)
    device_title: Text
    device: list[Text] = Field(min_length=1)
    owner_title: Text
    version: Text
    approved: Text
    draft: Text
    review: Text
    owner: Text
    changes_title: Text
    report_title: Text
    report: list[Text] = Field(min_length=1)
    sources_title: Text


class WhoNow(_Strict):
    """Who to call now when the designated person cannot be reached, by the route at that time:
    the social work office is open, the out-of-hours service answers, or neither (a gap in
    cover, when only the police answer). Used in advice as ``{who_now}``."""

    office: Text
    out_of_hours: Text
    gap: Text

    def at(self, route: str) -> str:
        text: str = getattr(self, route)
        return text


class Texts(_Strict):
    """Wording of every screen that is not a step or an outcome."""

    who_now: WhoNow
    who_now_adult: WhoNow
    welcome_title: Text
    welcome: list[Text] = Field(min_length=1)
    start_button: Label
    emergency_button: Label
    new_check_button: Label
    clear_button: Label
    feedback_button: Label
    feedback_title: Text
    feedback_thanks: Text
    continue_button: Label
    emergency_title: Text
    emergency_lines: list[Text] = Field(min_length=1)
    contacts_title: Text
    todo_title: Text
    adult_title: Text
    reference_away: Text
    reference_away_adult: Text
    why_title: Text
    ooh_title: Text
    next_tool_title: Text
    cancelled_title: Text
    cancelled: Text
    stale: Text
    invalid_button: Text
    typed: Text
    private_only: Text
    unavailable: Text
    failure: Text
    forgotten: Text
    example_contacts: Text
    indicators_title: Text
    indicators_intro: Text
    strong_title: Text
    other_title: Text
    vulnerabilities_title: Text
    vulnerabilities_intro: Text
    vulnerabilities_asked_as: Text
    help_title: Text
    help: list[Text] = Field(min_length=1)
    privacy_title: Text
    privacy: list[Text] = Field(min_length=1)
    privacy_telegram: list[Text] = Field(default_factory=list)
    about_title: Text
    about: list[Text] = Field(min_length=1)
    about_page: AboutTexts
    # On every screen of a draft preview (cse-triage console/web --draft, or content not approved).
    draft_banner: Text
    web: WebTexts


class Content(_Strict):
    """The whole content file."""

    meta: Meta
    conditions: dict[Code, Condition] = Field(default_factory=dict)
    timeframes: dict[Code, Label] = Field(min_length=1)
    indicators: list[Item] = Field(min_length=1)
    factors: list[Item] = Field(min_length=1)
    steps: list[Step] = Field(min_length=1)
    multi_controls: MultiControls
    levels: list[Code] = Field(min_length=2)
    default_level: Code
    default_reason: Text
    rules: list[Rule] = Field(min_length=1)
    outcomes: dict[Code, Outcome]
    addenda: list[Addendum] = Field(default_factory=list)
    reminders: Block
    summary: SummaryWording
    disclaimer: Text
    lookups: Lookups
    texts: Texts
    # Every content version, newest first: `cse-triage validate` refuses a version with no entry.
    changelog: list[Release] = Field(default_factory=list)

    # Convenience views (not part of the file) -------------------------------------------
    def item(self, item_id: str) -> Item:
        for it in (*self.indicators, *self.factors):
            if it.id == item_id:
                return it
        raise KeyError(item_id)

    def step(self, step_id: str) -> Step:
        for st in self.steps:
            if st.id == step_id:
                return st
        raise KeyError(step_id)

    def release(self) -> Release | None:
        """The changelog entry of this file's version (``meta.version``), if there is one."""
        return next((r for r in self.changelog if r.version == self.meta.version), None)

    @property
    def is_draft(self) -> bool:
        """True until this version has an approved changelog entry: a draft is previewed, never live."""
        release = self.release()
        return release is None or not release.approved

    @functools.cached_property
    def indicator_ids(self) -> frozenset[str]:
        return frozenset(i.id for i in self.indicators)

    @functools.cached_property
    def strong_ids(self) -> frozenset[str]:
        return frozenset(i.id for i in self.indicators if i.strong)

    @functools.cached_property
    def general_ids(self) -> frozenset[str]:
        """Indicators that are general signs of distress or harm, not specific to exploitation."""
        return frozenset(i.id for i in self.indicators if i.general)

    def timeframe_rank(self, when: str) -> int:
        return list(self.timeframes).index(when)

    @functools.cached_property
    def factor_ids(self) -> frozenset[str]:
        """Factors asked as themselves (not those asked as an indicator)."""
        return frozenset(f.id for f in self.factors if not f.asked_as)


class DataFileError(ValueError):
    """A data file is broken. ``problems`` holds one ``path.in.file: problem`` line each."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {p}" for p in problems))


class ContentError(DataFileError):
    """The content file is broken."""


def pydantic_problems(err: ValidationError) -> list[str]:
    """One ``path.in.file: problem`` line per pydantic error (e.g. ``steps[0].options: ...``)."""
    lines = []
    for e in err.errors(include_url=False):
        path = ""
        for part in e["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        lines.append(f"{path or '(top)'}: {e['msg'].removeprefix('Value error, ')}")
    return lines


def _conditions(cond: Condition, path: str) -> Iterator[tuple[Condition, str]]:
    yield cond, path
    for key in ("all", "any"):
        for i, sub in enumerate(getattr(cond, key) or []):
            yield from _conditions(sub, f"{path}.{key}[{i}]")


def _cross_check(c: Content) -> list[str]:  # noqa: C901 - one list of plain checks reads best
    problems: list[str] = []
    ids: dict[str, str] = {}
    for group in ("indicators", "factors"):
        for i, it in enumerate(getattr(c, group)):
            path = f"{group}[{i}].id"
            if it.id in ids:
                problems.append(f"{path}: duplicate id '{it.id}' (also at {ids[it.id]})")
            ids.setdefault(it.id, path)
            if group == "indicators" and it.asked_as:
                problems.append(f"{group}[{i}].asked_as: only a factor can be asked as an indicator")
            for j, target in enumerate(it.asked_as):
                if target not in c.indicator_ids:
                    problems.append(f"{group}[{i}].asked_as[{j}]: unknown indicator '{target}'")

    step_ids: dict[str, int] = {}
    asked: dict[str, str] = {}
    for s, st in enumerate(c.steps):
        if st.id in step_ids:
            problems.append(f"steps[{s}].id: duplicate step id '{st.id}'")
        step_ids.setdefault(st.id, s)
        if st.kind == "multi":
            if not st.items:
                problems.append(f"steps[{s}].items: a multi step needs at least one item")
            for j, item_id in enumerate(st.items):
                where = f"steps[{s}].items[{j}]"
                if item_id not in ids:
                    problems.append(f"{where}: unknown item id '{item_id}'")
                elif item_id in asked:
                    problems.append(f"{where}: item '{item_id}' is asked twice (also {asked[item_id]})")
                elif any(f.id == item_id and f.asked_as for f in c.factors):
                    problems.append(f"{where}: '{item_id}' is asked as an indicator, not on its own")
                asked.setdefault(item_id, where)
        if st.kind in ("single", "notice") and not st.options:
            problems.append(f"steps[{s}].options: a {st.kind} step with no options has no way out")
        codes = [o.code for o in st.options]
        for j, o in enumerate(st.options):
            if codes.count(o.code) > 1:
                problems.append(f"steps[{s}].options[{j}].code: duplicate option '{o.code}'")
    for s, st in enumerate(c.steps):
        later = {x.id for x in c.steps[s + 1 :]} | {"outcome"}
        for j, o in enumerate(st.options):
            if o.goto is not None and o.goto not in later:
                problems.append(f"steps[{s}].options[{j}].goto: '{o.goto}' is not a later step or 'outcome'")
    for item_id in sorted(c.indicator_ids | c.factor_ids):
        if item_id not in asked:
            problems.append(f"steps: item '{item_id}' is never asked")

    levels = set(c.levels)
    if c.default_level not in levels:
        problems.append(f"default_level: unknown level '{c.default_level}'")
    if c.default_level != c.levels[-1]:
        problems.append("default_level: must be the lowest level (last in 'levels')")
    for lvl in c.levels:
        if lvl not in c.outcomes:
            problems.append(f"outcomes: level '{lvl}' has no outcome")
    for name, outcome in c.outcomes.items():
        if name not in levels:
            problems.append(f"outcomes.{name}: not one of the levels")
        texts: list[tuple[str, OutcomeText]] = [(f"outcomes.{name}", outcome)]
        texts += [(f"outcomes.{name}.variants[{v}]", var) for v, var in enumerate(outcome.variants)]
        for path, out in texts:
            if not out.contacts:
                problems.append(f"{path}.contacts: an outcome must name at least one contact")
            if "designated_person" not in out.contacts:
                problems.append(f"{path}.contacts: must include 'designated_person'")
            if name == "emergency" and out.contacts[:1] != ["police_999"]:
                problems.append(f"{path}.contacts: 'police_999' must come first")
    rule_ids: dict[str, int] = {}
    for r, rule in enumerate(c.rules):
        if rule.id in rule_ids:
            problems.append(f"rules[{r}].id: duplicate rule id '{rule.id}' (also rules[{rule_ids[rule.id]}])")
        rule_ids.setdefault(rule.id, r)

    conds: list[tuple[Condition, str]] = []
    for r, rule in enumerate(c.rules):
        if rule.level not in levels:
            problems.append(f"rules[{r}].level: unknown level '{rule.level}'")
        conds += list(_conditions(rule.when, f"rules[{r}].when"))
    for s, st in enumerate(c.steps):
        if st.show_if is not None:
            conds += list(_conditions(st.show_if, f"steps[{s}].show_if"))
    for a, add in enumerate(c.addenda):
        conds += list(_conditions(add.when, f"addenda[{a}].when"))
    for name, outcome in c.outcomes.items():
        for v, var in enumerate(outcome.variants):
            conds += list(_conditions(var.when, f"outcomes.{name}.variants[{v}].when"))
    for cond, path in conds:
        if cond.step is not None:
            if cond.step not in step_ids:
                problems.append(f"{path}.step: unknown step '{cond.step}'")
            else:
                known = {o.code for o in c.steps[step_ids[cond.step]].options}
                for code in cond.any_of or []:
                    if known and code not in known:
                        problems.append(f"{path}.any_of: step '{cond.step}' has no option '{code}'")
        for item_id in cond.items_any or []:
            if item_id not in ids:
                problems.append(f"{path}.items_any: unknown item id '{item_id}'")
        for step_id in cond.unsure_any or []:
            if step_id not in step_ids or c.steps[step_ids[step_id]].kind != "multi":
                problems.append(f"{path}.unsure_any: '{step_id}' is not a multi step")
        if cond.is_ is not None and cond.is_ not in c.conditions:
            problems.append(f"{path}.is: unknown named condition '{cond.is_}'")
    problems += _changelog_problems(c)
    problems += _check_named(c)
    problems += _check_items_by_age(c)
    problems += _check_advice(c)
    return problems


def _uses(c: Content, cond: Condition, seen: tuple[str, ...] = ()) -> Iterator[tuple[str, Condition]]:
    """Every condition reached from ``cond``, following named conditions (stops at a cycle)."""
    for sub, _ in _conditions(cond, ""):
        yield "", sub
        if sub.is_ is not None and sub.is_ in c.conditions:
            if sub.is_ in seen:
                yield sub.is_, sub  # a cycle: reported by _check_named
                continue
            yield from _uses(c, c.conditions[sub.is_], (*seen, sub.is_))


def _check_named(c: Content) -> list[str]:
    problems: list[str] = []
    for name, cond in c.conditions.items():
        for path_cond in _conditions(cond, f"conditions.{name}"):
            sub, path = path_cond
            if sub.is_ is not None and sub.is_ not in c.conditions:
                problems.append(f"{path}.is: unknown named condition '{sub.is_}'")
        if any(cycle for cycle, _ in _uses(c, cond, (name,))):
            problems.append(f"conditions.{name}: refers to itself")
    return problems


def _check_items_by_age(c: Content) -> list[str]:
    """An item's ``show_if`` and ``strong_if`` test only single-answer steps (never ticks, which
    would make an item depend on itself); ``strong_if`` goes with ``strong``."""
    problems: list[str] = []
    for group in ("indicators", "factors"):
        for i, it in enumerate(getattr(c, group)):
            where = f"{group}[{i}]"
            if it.strong_if is not None and not it.strong:
                problems.append(f"{where}.strong_if: only a strong item can be strong conditionally")
            if it.general and it.strong:
                problems.append(f"{where}.general: a general sign of harm cannot be a serious sign")
            for cond, path in ((it.show_if, "show_if"), (it.strong_if, "strong_if")):
                if cond is None:
                    continue
                if any(cyc for cyc, _ in _uses(c, cond)):
                    problems.append(f"{where}.{path}: refers to itself")
                    continue
                if not all(_on_steps(sub) for _, sub in _uses(c, cond)):
                    problems.append(f"{where}.{path}: may test only the answers to single steps")
    return problems


def _on_steps(cond: Condition) -> bool:
    """A test on single-step answers, a named condition, or a combination of them."""
    return any(x is not None for x in (cond.step, cond.is_, cond.all, cond.any))


def _check_advice(c: Content) -> list[str]:
    """Every line of advice has a known time frame and only known placeholders."""
    problems: list[str] = []
    todos: list[tuple[str, Todo]] = []
    for name, outcome in c.outcomes.items():
        texts: list[tuple[str, OutcomeText]] = [(f"outcomes.{name}", outcome)]
        texts += [(f"outcomes.{name}.variants[{v}]", var) for v, var in enumerate(outcome.variants)]
        for path, out in texts:
            todos += [(f"{path}.do_now[{j}]", t) for j, t in enumerate(out.do_now)]
            away = out.do_now_out_of_hours or []
            todos += [(f"{path}.do_now_out_of_hours[{j}]", t) for j, t in enumerate(away)]
    for a, add in enumerate(c.addenda):
        todos += [(f"addenda[{a}].actions[{j}]", t) for j, t in enumerate(add.actions)]
    for path, todo in todos:
        if todo.when not in c.timeframes:
            problems.append(f"{path}: unknown time frame '{todo.when}' (one of {', '.join(c.timeframes)})")
        for name in re.findall(r"{([^{}]*)}", todo.text):
            if name not in PLACEHOLDERS:
                problems.append(f"{path}: unknown placeholder '{{{name}}}'")
    return problems


ABOUT_FIELDS = ("version", "date", "role", "approved_on", "owner", "due", "reviewed")


def _changelog_problems(c: Content) -> list[str]:
    problems: list[str] = []
    seen: dict[str, int] = {}
    for r, rel in enumerate(c.changelog):
        if rel.version in seen:
            problems.append(
                f"changelog[{r}].version: '{rel.version}' listed twice (also changelog[{seen[rel.version]}])"
            )
        seen.setdefault(rel.version, r)
        if rel.approved_on is not None and rel.approved_on < rel.date:
            problems.append(f"changelog[{r}].approved_on: before the version's date")
    dates = [rel.date for rel in c.changelog]
    if dates != sorted(dates, reverse=True):
        problems.append("changelog: list the versions newest first")
    about = c.texts.about_page
    for name in ("version", "approved", "draft", "review", "owner"):
        try:
            getattr(about, name).format(**dict.fromkeys(ABOUT_FIELDS, ""))
        except (KeyError, IndexError, ValueError) as err:
            problems.append(
                f"texts.about_page.{name}: unknown placeholder {err} (use {', '.join(ABOUT_FIELDS)})"
            )
    return problems


def release_problems(c: Content) -> list[str]:
    """What stops this content version going live: no changelog entry, or one not approved."""
    release = c.release()
    if release is None:
        return [
            f"changelog: no entry for content version '{c.meta.version}' (meta.version). Add one at the "
            "top: version, date, changes (label SA, NT, MA or U; what; reason), approved_by (a role) "
            "and approved_on."
        ]
    if not release.approved:
        return [
            f"changelog: content version '{c.meta.version}' is a draft (no approved_by/approved_on): "
            "preview it with --draft; it cannot go live until it is approved."
        ]
    return []


def parse_content(data: Any, source: str = "<content>") -> Content:
    """Validate already-parsed YAML data; raise :class:`ContentError` on any problem."""
    try:
        content = Content.model_validate(data)
    except ValidationError as err:
        raise ContentError(source, pydantic_problems(err)) from None
    problems = _cross_check(content)
    if problems:
        raise ContentError(source, problems)
    return content


def load_content(path: Path | str = DEFAULT_CONTENT) -> Content:
    """Load and validate a content file."""
    path = Path(path)
    try:
        data = safe_yaml(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise ContentError(str(path), [f"(file): cannot read: {err}"]) from None
    return parse_content(data, str(path))
