"""How each kind of condition reads the answers: which items can make it hold (``ITEM_ROLES``),
what it counts (``COUNTS``), which step answers it reads (``STEP_KINDS``, ``UNSURE_KINDS``), and
every condition of a content file taken apart into those kinds (``atoms``). A new kind of
condition in ``flows/schema/condition.py`` needs one line here."""

from __future__ import annotations

from collections.abc import Callable

from flows.schema import Condition, Content

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
                f"condition kind '{k}' is new to flows/impact/kinds.py: say how it reads the answers "
                "(ITEM_ROLES, COUNTS, STEP_KINDS or UNSURE_KINDS)"
            )
        out.append(cond)

    for root in roots:
        visit(root)
    return out
