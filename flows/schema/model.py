"""The content file's models: its questions (steps and items), rules, outcomes and situation
blocks, with the wording of the other screens (``texts``) and the changelog."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, StringConstraints, model_validator

from flows.schema.changelog import Release
from flows.schema.condition import Condition
from flows.schema.fields import Code, ItemLabel, Label, Strict, Text
from flows.schema.texts import Block, Lookups, MultiControls, SummaryWording, Texts

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


class Source(Strict):
    title: Text
    url: Text


class Meta(Strict):
    id: Text
    version: Text
    reviewed_on: dt.date
    review_due: dt.date
    owner: Text
    sources: list[Source] = Field(min_length=1)


class Item(Strict):
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


class Option(Strict):
    code: Code
    label: Label
    goto: Code | None = None


class Todo(Strict):
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


class Step(Strict):
    id: Code
    kind: Literal["single", "multi", "notice", "service"]
    title: Text
    text: Text
    show_if: Condition | None = None
    options: list[Option] = Field(default_factory=list)
    items: list[Code] = Field(default_factory=list, max_length=7)


class Rule(Strict):
    """One line of the rule table: when it holds, the level is at least ``level``.

    ``id`` names the rule in docs/triage-rules.md, which gives its reason and source."""

    id: Annotated[str, StringConstraints(pattern=r"^[A-Z][0-9]{1,2}$")]
    level: Code
    when: Condition
    reason: Text


class OutcomeText(Strict):
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


class Addendum(Strict):
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


class Content(Strict):
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
