"""What pydantic cannot see in the content file: ids that must exist and be unique, steps with a
way out, outcomes with a contact, named conditions without a cycle, items asked by age, every
line of advice with a known time frame and placeholders, and the changelog."""

from __future__ import annotations

import re
from collections.abc import Iterator

from flows.schema.changelog import changelog_problems
from flows.schema.condition import Condition, conditions_in
from flows.schema.model import PLACEHOLDERS, Content, OutcomeText, Todo


def cross_check(c: Content) -> list[str]:  # noqa: C901 - one list of plain checks reads best
    """Every problem pydantic cannot see, one ``path.in.file: problem`` line each ([] when none)."""
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
        conds += list(conditions_in(rule.when, f"rules[{r}].when"))
    for s, st in enumerate(c.steps):
        if st.show_if is not None:
            conds += list(conditions_in(st.show_if, f"steps[{s}].show_if"))
    for a, add in enumerate(c.addenda):
        conds += list(conditions_in(add.when, f"addenda[{a}].when"))
    for name, outcome in c.outcomes.items():
        for v, var in enumerate(outcome.variants):
            conds += list(conditions_in(var.when, f"outcomes.{name}.variants[{v}].when"))
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
    problems += changelog_problems(c)
    problems += _check_named(c)
    problems += _check_items_by_age(c)
    problems += _check_advice(c)
    return problems


def _uses(c: Content, cond: Condition, seen: tuple[str, ...] = ()) -> Iterator[tuple[str, Condition]]:
    """Every condition reached from ``cond``, following named conditions (stops at a cycle)."""
    for sub, _ in conditions_in(cond, ""):
        yield "", sub
        if sub.is_ is not None and sub.is_ in c.conditions:
            if sub.is_ in seen:
                yield sub.is_, sub  # a cycle: reported by _check_named
                continue
            yield from _uses(c, c.conditions[sub.is_], (*seen, sub.is_))


def _check_named(c: Content) -> list[str]:
    problems: list[str] = []
    for name, cond in c.conditions.items():
        for path_cond in conditions_in(cond, f"conditions.{name}"):
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
