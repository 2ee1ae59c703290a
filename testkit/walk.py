"""Walking a whole check with given answers: shared by the flow and triage-rule tests."""

from __future__ import annotations

from collections.abc import Mapping

from flows.machine import OUTCOME, Conversation, Flow


def walk(
    flow: Flow,
    *,
    danger: str = "no",
    age: str = "13_15",
    ticks: tuple[str, ...] = (),
    unsure: tuple[str, ...] = (),
    answers: Mapping[str, str] | None = None,
) -> Conversation:
    """Run a whole check: the given answers, ticks and 'not sure' steps, Done elsewhere.

    ``answers`` gives the option for any other single step by its id (the follow-ups such as
    ``assault_when`` or ``lawful_16``); a step not given takes its first option. Only the items a
    step asks for this age are ticked (an adult is never asked about an older partner)."""
    conv = flow.new()
    assert flow.fire(conv, "start")
    given = {"danger": danger, "danger_alert": "continue", "age": age, **(answers or {})}
    while conv.state != OUTCOME:
        step = flow.step(conv.state)
        if step.kind == "multi":
            for item in flow.items(step, conv):
                if item in ticks:
                    assert flow.fire(conv, "toggle", item)
            assert flow.fire(conv, "answer", "unsure") if step.id in unsure else flow.fire(conv, "done")
        else:
            assert flow.fire(conv, "answer", given.get(step.id, flow.options(step)[0][0]))
    return conv
