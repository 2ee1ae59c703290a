"""The walk over the answer space: one representative answer per class both files can tell
apart, realised as a conversation in each file's flow (a step one file skips is skipped)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flows.impact.classes import item_classes, option_classes, tick_classes, unsure_classes
from flows.impact.kinds import ImpactError
from flows.machine import OUTCOME, Conversation, Flow
from flows.rules import holds
from flows.schema import Content


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


BUDGET = 2_000_000  # combinations walked before giving up (about a minute on the reference machine)


def answer_space(
    old: Content, new: Content, old_flow: Flow, new_flow: Flow, budget: int = BUDGET
) -> Iterator[tuple[Answer, Conversation, Conversation]]:
    """One representative answer per class both files can tell apart, realised in each."""
    contents, flows = (old, new), (old_flow, new_flow)
    classes = item_classes(contents)
    options = option_classes(contents, flows)
    single_steps = list(options)
    reps = tick_classes(contents, classes)
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
