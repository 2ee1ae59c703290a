"""The check as a state machine, built once from the content and shared by every conversation.

A :class:`Conversation` is a small plain object: the state plus answer codes. It serialises to
and from a dict of codes only, so storage can keep it without ever holding free text.
:class:`Flow` owns the one ``transitions`` machine and fires events on conversations:

- ``start`` / ``restart``: begin a new check (answers cleared)
- ``answer <code>``: choose an option on a single, notice or service step; on a multi step the
  codes ``none`` and ``unsure`` close the step (``none`` only while nothing on it is ticked:
  it never clears a tick)
- ``toggle <item>``: tick or untick an item on a multi step
- ``done``: close a multi step with what is ticked
- ``back``: return to the previous step, answers kept
- ``cancel``: stop the check (the cancelled screen still shows the emergency line)

Events that do not fit the current state are refused (``fire`` returns False) and change nothing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, cast

from transitions import EventData, Machine, MachineError

from flows.rules import evaluate, holds, shown
from flows.schema import Content, Step

WELCOME, OUTCOME, CANCELLED = "welcome", "outcome", "cancelled"
EVENTS = ("start", "restart", "answer", "toggle", "done", "back", "cancel")
MULTI_CLOSERS = ("none", "unsure")


class InvalidConversation(ValueError):
    """Stored data that does not fit the content (unknown state, step or code)."""


@dataclass(eq=False)
class Conversation:
    """One practitioner's check in progress: a state and answer codes, nothing else."""

    state: str = WELCOME
    answers: dict[str, str] = field(default_factory=dict)
    picked: dict[str, list[str]] = field(default_factory=dict)
    unsure: list[str] = field(default_factory=list)
    history: list[str] = field(default_factory=list)
    level: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "answers": dict(self.answers),
            "picked": {k: list(v) for k, v in self.picked.items()},
            "unsure": list(self.unsure),
            "history": list(self.history),
            "level": self.level,
        }

    def items(self) -> list[str]:
        """Every ticked item id, in the order the steps ask them."""
        return [i for ids in self.picked.values() for i in ids]


class Flow:
    """The content plus the one machine that walks any conversation through it."""

    def __init__(self, content: Content, services: list[tuple[str, str]] | None = None) -> None:
        self.content = content
        self.services = list(services or [])
        self.steps: list[Step] = [s for s in content.steps if s.kind != "service" or len(self.services) > 1]
        self._step = {s.id: s for s in self.steps}
        self.states = [WELCOME, *self._step, OUTCOME, CANCELLED]
        self._lock = threading.Lock()
        self.machine = Machine(
            model=None,
            states=self.states,
            initial=None,
            auto_transitions=False,
            send_event=True,
            queued=False,
        )
        self._build()

    # -- building ---------------------------------------------------------------------------
    def _build(self) -> None:
        m = self.machine
        first = self.steps[0].id
        ends: list[Any] = [WELCOME, OUTCOME, CANCELLED]
        everywhere: list[Any] = list(self.states)
        steps: list[Any] = list(self._step)
        m.add_transition("start", ends, first, before=self._reset)
        m.add_transition("restart", everywhere, first, before=self._reset)
        m.add_transition("cancel", steps, CANCELLED)
        forward = {step.id: self._forward(i) for i, step in enumerate(self.steps)}
        for step in self.steps:
            triggers = ["done", "answer"] if step.kind == "multi" else ["answer"]
            for trig in triggers:
                for dest in forward[step.id]:
                    m.add_transition(trig, step.id, dest, conditions=[_target_is(dest)], before=self._commit)
            if step.kind == "multi":
                m.add_transition("toggle", step.id, None, before=self._commit)
            # Back goes to whichever step came before; only steps that can lead here can have.
            for earlier, dests in forward.items():
                if step.id in dests:
                    m.add_transition(
                        "back", step.id, earlier, conditions=[_target_is(earlier)], before=self._pop
                    )
        # Reaching the outcome fixes the level from the answers.
        m.on_enter_outcome(self._set_level)  # type: ignore[attr-defined]

    def _forward(self, index: int) -> list[str]:
        """States that can follow step ``index``: the next step, any after it that a ``show_if``
        may skip to, any ``goto`` target, and the outcome once every later step may be skipped."""
        out = [o.goto for o in self.steps[index].options if o.goto]
        for later in self.steps[index + 1 :]:
            out.append(later.id)
            if later.show_if is None:
                return list(dict.fromkeys(out))
        return list(dict.fromkeys([*out, OUTCOME]))

    # -- callbacks (all pure: they only touch the conversation) ------------------------------
    @staticmethod
    def _reset(ev: EventData) -> None:
        conv = cast(Conversation, ev.model)
        conv.answers, conv.picked, conv.unsure, conv.history, conv.level = {}, {}, [], [], None

    @staticmethod
    def _commit(ev: EventData) -> None:
        conv = cast(Conversation, ev.model)
        new = cast(Conversation, ev.kwargs["new"])
        conv.answers, conv.picked, conv.unsure = new.answers, new.picked, new.unsure
        if ev.transition is not None and ev.transition.dest is not None:
            conv.history.append(ev.state.name)

    @staticmethod
    def _pop(ev: EventData) -> None:
        cast(Conversation, ev.model).history.pop()

    def _set_level(self, ev: EventData) -> None:
        conv = cast(Conversation, ev.model)
        conv.level = evaluate(self.content, conv).level

    # -- queries ------------------------------------------------------------------------------
    def step(self, step_id: str) -> Step:
        return self._step[step_id]

    def service_of(self, conv: Conversation) -> str | None:
        """The practitioner's service code, from the content's ``service`` step (None if not asked)."""
        step = next((s for s in self.content.steps if s.kind == "service"), None)
        return conv.answers.get(step.id) if step is not None else None

    def items(self, step: Step, conv: Conversation) -> list[str]:
        """The items a multi step asks for these answers (some are not asked of every age)."""
        return [i for i in step.items if shown(self.content, self.content.item(i), conv)]

    def options(self, step: Step) -> list[tuple[str, str]]:
        """(code, label) of a single, notice or service step."""
        if step.kind == "service":
            return list(self.services)
        return [(o.code, o.label) for o in step.options]

    def next_after(self, conv: Conversation, step_id: str, goto: str | None = None) -> str:
        """The state that follows ``step_id`` given the answers in ``conv``."""
        if goto is not None:
            return goto
        index = [s.id for s in self.steps].index(step_id)
        for later in self.steps[index + 1 :]:
            if later.show_if is None or holds(self.content, later.show_if, conv):
                return later.id
        return OUTCOME

    # -- events -------------------------------------------------------------------------------
    def new(self) -> Conversation:
        return Conversation()

    def fire(self, conv: Conversation, event: str, arg: str | None = None) -> bool:
        """Apply one event; return True when it was accepted (the conversation changed)."""
        if event not in EVENTS:
            return False
        kwargs: dict[str, Any] = {}
        if event in ("answer", "toggle", "done"):
            planned = self._plan(conv, event, arg)
            if planned is None:
                return False
            kwargs = {"new": planned[0], "target": planned[1]}
        elif event == "back":
            if not conv.history or conv.state not in self._step:
                return False
            kwargs = {"target": conv.history[-1]}
        with self._lock:
            try:
                return bool(self.machine.events[event].trigger(conv, **kwargs))
            except MachineError:
                return False

    def _plan(
        self, conv: Conversation, event: str, arg: str | None
    ) -> tuple[Conversation, str | None] | None:
        """The answers after the event and the next state, or None if the event is not valid."""
        step = self._step.get(conv.state)
        if step is None:
            return None
        new = Conversation(
            state=conv.state,
            answers=dict(conv.answers),
            picked={k: list(v) for k, v in conv.picked.items()},
            unsure=list(conv.unsure),
        )
        goto = None
        if step.kind == "multi":
            asked = self.items(step, new)
            ticked = [i for i in new.picked.get(step.id, []) if i in asked]
            if event == "toggle":
                if arg not in asked:
                    return None
                chosen = set(new.picked.get(step.id, [])) ^ {arg}
                new.picked[step.id] = [i for i in step.items if i in chosen]
                return new, None
            if event == "answer" and arg not in MULTI_CLOSERS:
                return None
            if event == "answer" and arg == "none" and ticked:
                # "None of these" reads as "none of the others" on a phone: it never clears a tick.
                return None
            if event == "answer" and arg == "unsure":
                if step.id not in new.unsure:
                    new.unsure.append(step.id)
            elif step.id in new.unsure:
                new.unsure.remove(step.id)
            new.picked.setdefault(step.id, [])
        else:
            if event != "answer":
                return None
            codes = dict(self.options(step))
            if arg not in codes:
                return None
            assert arg is not None
            new.answers[step.id] = arg
            goto = next((o.goto for o in step.options if o.code == arg), None)
        return new, self.next_after(new, step.id, goto)

    # -- serialisation ------------------------------------------------------------------------
    def load(self, data: dict[str, Any]) -> Conversation:
        """Rebuild a conversation from stored codes, refusing anything the content does not know."""
        try:
            conv = Conversation(
                state=str(data["state"]),
                answers={str(k): str(v) for k, v in dict(data.get("answers", {})).items()},
                picked={str(k): [str(i) for i in v] for k, v in dict(data.get("picked", {})).items()},
                unsure=[str(s) for s in data.get("unsure", [])],
                history=[str(s) for s in data.get("history", [])],
                level=None if data.get("level") is None else str(data["level"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise InvalidConversation(f"malformed conversation: {type(err).__name__}") from None
        self._check(conv)
        return conv

    def _check(self, conv: Conversation) -> None:
        if conv.state not in self.states:
            raise InvalidConversation("unknown state")
        for step_id, code in conv.answers.items():
            step = self._step.get(step_id)
            if step is None or step.kind == "multi" or code not in dict(self.options(step)):
                raise InvalidConversation("unknown answer")
        for step_id, items in conv.picked.items():
            step = self._step.get(step_id)
            if step is None or step.kind != "multi" or not set(items) <= set(step.items):
                raise InvalidConversation("unknown item")
        if not set(conv.unsure) <= {s.id for s in self.steps if s.kind == "multi"}:
            raise InvalidConversation("unknown step marked unsure")
        if not set(conv.history) <= set(self._step):
            raise InvalidConversation("unknown step in history")
        if conv.level is not None and conv.level not in self.content.levels:
            raise InvalidConversation("unknown level")


def _target_is(dest: str) -> Any:
    def condition(ev: EventData) -> bool:
        return bool(ev.kwargs.get("target") == dest)

    return condition
