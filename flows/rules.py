"""Outcome rules: which level a set of answers reaches, and why.

Every rule in the content whose condition holds raises the level; the most urgent level
matched wins. So a rule can only ever raise the level: a tick, being unsure or having a learning
disability can never lower an outcome. The age is an answer, not an override: a few items mean
less at 16 or over, where lawful relationships exist (``strong_if``), and some are not asked of
an adult (``show_if``). With no rule matched, the content's default
(lowest) level applies, and its outcome still tells the practitioner what to do. The rule table,
with each rule's reason and source, is docs/triage-rules.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flows.schema import Addendum, Condition, Content, Item, OutcomeText, Todo

if TYPE_CHECKING:
    from flows.machine import Conversation


@dataclass(frozen=True)
class Result:
    """The level reached, the reasons (one per matched rule at that level), the addenda that
    apply, and the outcome's wording for these answers (a variant, e.g. for an adult)."""

    level: str
    reasons: tuple[str, ...]
    addenda: tuple[Addendum, ...]
    text: OutcomeText
    rules: tuple[str, ...] = ()


def shown(content: Content, item: Item, conv: Conversation) -> bool:
    """Whether an item is asked for these answers (its ``show_if``, e.g. not for an adult)."""
    return item.show_if is None or holds(content, item.show_if, conv)


def ticked(content: Content, conv: Conversation) -> list[str]:
    """The ticks that count: every ticked item that is asked for these answers. A tick left from
    another age (the practitioner went back and changed it) no longer counts."""
    return [i for i in conv.items() if shown(content, content.item(i), conv)]


def strong(content: Content, item_id: str, conv: Conversation) -> bool:
    """Whether a ticked item is a serious sign for these answers (``strong_if`` for an item whose
    meaning changes with age)."""
    item = content.item(item_id)
    return item.strong and (item.strong_if is None or holds(content, item.strong_if, conv))


class _Ticks:
    """The ticks that count for one conversation, worked out once however many conditions ask."""

    __slots__ = ("_content", "_conv", "_items")

    def __init__(self, content: Content, conv: Conversation) -> None:
        self._content, self._conv = content, conv
        self._items: frozenset[str] | None = None

    def get(self) -> frozenset[str]:
        if self._items is None:
            self._items = frozenset(ticked(self._content, self._conv))
        return self._items


def holds(content: Content, cond: Condition, conv: Conversation, ticks: _Ticks | None = None) -> bool:
    """Whether a condition holds for the answers in ``conv``."""
    if cond.step is not None:
        return conv.answers.get(cond.step) in (cond.any_of or [])
    ticks = ticks if ticks is not None else _Ticks(content, conv)
    if cond.is_ is not None:
        return holds(content, content.conditions[cond.is_], conv, ticks)
    if cond.all is not None:
        return all(holds(content, c, conv, ticks) for c in cond.all)
    if cond.any is not None:
        return any(holds(content, c, conv, ticks) for c in cond.any)
    if cond.unsure_any is not None:
        return bool(set(conv.unsure) & set(cond.unsure_any))
    items = ticks.get()
    if cond.any_indicator is not None:
        return bool(items & content.indicator_ids) == cond.any_indicator
    if cond.any_factor is not None:
        return bool(items & content.factor_ids) == cond.any_factor
    if cond.items_any is not None:
        return bool(items & set(cond.items_any))
    if cond.any_strong is not None:
        return any(strong(content, i, conv) for i in items & content.strong_ids) == cond.any_strong
    if cond.indicators_at_least is not None:
        return len(items & content.indicator_ids) >= cond.indicators_at_least
    if cond.specific_at_least is not None:
        return len(items & (content.indicator_ids - content.general_ids)) >= cond.specific_at_least
    raise AssertionError("schema guarantees one kind of test")  # pragma: no cover


def evaluate(content: Content, conv: Conversation) -> Result:
    """The outcome for the answers in ``conv``."""
    rank = {lvl: i for i, lvl in enumerate(content.levels)}
    ticks = _Ticks(content, conv)
    matched = [r for r in content.rules if holds(content, r.when, conv, ticks)]
    level = min((r.level for r in matched), key=rank.__getitem__, default=content.default_level)
    at_level = [r for r in matched if r.level == level]
    reasons = tuple(r.reason for r in at_level) or (content.default_reason,)
    addenda = tuple(a for a in content.addenda if holds(content, a.when, conv, ticks))
    text = content.outcomes[level].for_answers(lambda cond: holds(content, cond, conv, ticks))
    return Result(level, reasons, addenda, text, tuple(r.id for r in at_level))


def advice(content: Content, result: Result, *, designated_now: bool) -> list[Todo]:
    """What to do, in time order: the level's lines (for whether the designated person can be
    reached now) and every situation block's actions, sorted by time frame ("now" before
    "today" before "when next available"). Within a time frame a situation's actions come first
    (missing right now: report it before anything else), except where the level leads (999
    always comes first). A line given twice is kept once."""
    own = result.text.steps(designated_now=designated_now)
    blocks = [todo for add in result.addenda for todo in add.actions]
    first, then = (own, blocks) if result.text.lead else (blocks, own)
    ordered = sorted([*first, *then], key=lambda todo: content.timeframe_rank(todo.when))
    return list(dict.fromkeys(ordered))
