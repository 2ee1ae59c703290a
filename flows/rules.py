"""Outcome rules: which level a set of answers reaches, and why.

Every rule in the content whose condition holds raises the level; the most urgent level
matched wins. So a rule can only ever raise the level: being unsure, being under 13 or having a
learning disability can never lower an outcome. With no rule matched, the content's default
(lowest) level applies, and its outcome still tells the practitioner what to do. The rule table,
with each rule's reason and source, is docs/triage-rules.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flows.schema import Addendum, Condition, Content, OutcomeText

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


def holds(content: Content, cond: Condition, conv: Conversation) -> bool:
    """Whether a condition holds for the answers in ``conv``."""
    if cond.step is not None:
        return conv.answers.get(cond.step) in (cond.any_of or [])
    items = set(conv.items())
    if cond.any_indicator is not None:
        return bool(items & content.indicator_ids) == cond.any_indicator
    if cond.any_factor is not None:
        return bool(items & content.factor_ids) == cond.any_factor
    if cond.items_any is not None:
        return bool(items & set(cond.items_any))
    if cond.unsure_any is not None:
        return bool(set(conv.unsure) & set(cond.unsure_any))
    if cond.any_strong is not None:
        return bool(items & content.strong_ids) == cond.any_strong
    if cond.indicators_at_least is not None:
        return len(items & content.indicator_ids) >= cond.indicators_at_least
    if cond.all is not None:
        return all(holds(content, c, conv) for c in cond.all)
    if cond.any is not None:
        return any(holds(content, c, conv) for c in cond.any)
    raise AssertionError("schema guarantees one kind of test")  # pragma: no cover


def evaluate(content: Content, conv: Conversation) -> Result:
    """The outcome for the answers in ``conv``."""
    rank = {lvl: i for i, lvl in enumerate(content.levels)}
    matched = [r for r in content.rules if holds(content, r.when, conv)]
    level = min((r.level for r in matched), key=rank.__getitem__, default=content.default_level)
    at_level = [r for r in matched if r.level == level]
    reasons = tuple(r.reason for r in at_level) or (content.default_reason,)
    addenda = tuple(a for a in content.addenda if holds(content, a.when, conv))
    text = content.outcomes[level].for_answers(lambda cond: holds(content, cond, conv))
    return Result(level, reasons, addenda, text, tuple(r.id for r in at_level))
