"""Walking a whole check with given answers: shared by the flow and triage-rule tests."""

from __future__ import annotations

from flows.machine import OUTCOME, Conversation, Flow


def walk(
    flow: Flow,
    *,
    danger: str = "no",
    age: str = "13_15",
    ticks: tuple[str, ...] = (),
    unsure: tuple[str, ...] = (),
) -> Conversation:
    """Run a whole check: the given answers, ticks and 'not sure' steps, Done elsewhere."""
    conv = flow.new()
    assert flow.fire(conv, "start")
    while conv.state != OUTCOME:
        step = flow.step(conv.state)
        if step.id == "danger":
            assert flow.fire(conv, "answer", danger)
        elif step.id == "danger_alert":
            assert flow.fire(conv, "answer", "continue")
        elif step.id == "age":
            assert flow.fire(conv, "answer", age)
        elif step.kind == "multi":
            for item in step.items:
                if item in ticks:
                    assert flow.fire(conv, "toggle", item)
            assert flow.fire(conv, "answer", "unsure") if step.id in unsure else flow.fire(conv, "done")
        else:
            assert flow.fire(conv, "answer", flow.options(step)[0][0])
    return conv
