"""The equivalence classes of answers the rules cannot tell apart: items that play the same
role, sets of "Not sure" steps, options of a single-choice step, and the sets of ticks built
class by class."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from flows.impact.kinds import COUNTS, ITEM_ROLES, STEP_KINDS, UNSURE_KINDS, atoms, kind
from flows.machine import Flow
from flows.schema import Content


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


def tick_classes(contents: tuple[Content, ...], classes: list[ItemClass]) -> list[frozenset[str]]:
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
