"""The Bot API double of ``testkit.botapi``, instrumented and trimmed for thousands of chats.

:class:`BenchTelegram` answers exactly as :class:`testkit.botapi.FakeTelegram` does, but keeps only
what a running conversation needs (its own messages, indexed by chat, dropped when the
conversation ends) instead of every call, so the double's memory and lookups stay flat.

:class:`TimedRequest` is :class:`testkit.botapi.FakeRequest` recording, for the update being
processed (a context variable, which ``asyncio`` copies into every task a handler starts), the
start and end of each Bot API call as positions in one global sequence. Each call waits ``rtt``
seconds (at least one trip through the event loop) before it is answered, as a real round trip
would, so calls a handler makes concurrently overlap and calls it makes one after another do not.
:func:`sequential_round_trips` counts the longest chain of calls that did not overlap: how many
round trips the practitioner waits for, one after another, before the next step shows. A call
counts as waiting for an earlier one only if the code that made it was waiting for the earlier
one: the same task, or a task branched off after the earlier call ended (:func:`stamp_tasks`
records who created each task, and when). A call in a task started beside it by ``asyncio.gather``
(answering the button while the step is read from the database) is not a wait, even when the
database takes longer than the round trip.
:func:`sequential_by_time` is the plain count, for comparison.
"""

from __future__ import annotations

import asyncio
import contextvars
import html
import itertools
import json
import weakref
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from telegram.request import RequestData

from testkit.botapi import FakeRequest, FakeTelegram
from testkit.helpers import find_button

MESSAGE_METHODS = ("sendMessage", "editMessageText", "editMessageReplyMarkup")


Lineage = tuple[tuple[int, int], ...]  # (task id, created at) from the outermost task to this one


@dataclass
class CallSpan:
    """One Bot API call: its method, its start and end in the global sequence, and its task.

    ``lineage``: the task that made the call and the tasks that started it, each with when it was
    created (same sequence), so that a call made in a task started *beside* an earlier call (as
    ``asyncio.gather`` does) is not counted as waiting for it.
    """

    method: str
    start: int
    end: int
    lineage: Lineage = ()
    params: dict[str, Any] | None = None  # kept only when the run is to be replayed


@dataclass
class UpdateLog:
    """What one update cost: its kind, the Bot API calls it made and the time it took."""

    kind: str  # "tap", "command" or "typed"
    calls: list[CallSpan] = field(default_factory=list)
    seconds: float = 0.0
    update_id: int = 0


CURRENT: ContextVar[UpdateLog | None] = ContextVar("bench_update", default=None)
SEQUENCE = itertools.count()  # one order for call starts, call ends and task creations
_LINEAGE: weakref.WeakKeyDictionary[asyncio.Future[Any], Lineage] = weakref.WeakKeyDictionary()


def lineage(task: asyncio.Future[Any] | None) -> Lineage:
    """The task's lineage; a task created before :func:`stamp_tasks` is its own root."""
    if task is None:
        return ()
    return _LINEAGE.get(task) or ((id(task), -1),)


def stamp_tasks(loop: asyncio.AbstractEventLoop) -> None:
    """Record, for each task created on ``loop`` from now on, who created it and when."""

    def factory(
        loop: asyncio.AbstractEventLoop, coro: Any, context: contextvars.Context | None = None
    ) -> asyncio.Future[Any]:
        parent = lineage(asyncio.current_task(loop))
        task = asyncio.Task(coro, loop=loop, context=context)
        _LINEAGE[task] = (*parent, (id(task), next(SEQUENCE)))
        return task

    loop.set_task_factory(factory)


def waits_for(earlier: CallSpan, later: CallSpan) -> bool:
    """Whether ``later`` started after ``earlier`` ended, in code that was waiting for it.

    Where the two calls' lineages part, ``later``'s branch must have been created after
    ``earlier`` ended (or ``later`` was made by a task ``earlier``'s task descends from, after it
    ended). A branch created before then ran beside ``earlier`` and only happened to call later.
    """
    if later.start <= earlier.end:
        return False
    shared = 0
    for mine, theirs in zip(earlier.lineage, later.lineage, strict=False):
        if mine[0] != theirs[0]:
            break
        shared += 1
    if shared == len(later.lineage):
        return True
    return later.lineage[shared][1] > earlier.end


def sequential_round_trips(calls: list[CallSpan]) -> int:
    """The longest chain of calls, each waiting for the one before it to end."""
    ordered = sorted(calls, key=lambda c: c.start)
    longest: list[int] = []
    for i, call in enumerate(ordered):
        longest.append(1 + max((longest[j] for j in range(i) if waits_for(ordered[j], call)), default=0))
    return max(longest, default=0)


def sequential_by_time(calls: list[CallSpan]) -> int:
    """The longest chain of calls each starting after the previous ended, whatever made them."""
    chain, last_end = 0, -1
    for span in sorted(calls, key=lambda c: c.end):
        if span.start > last_end:
            chain += 1
            last_end = span.end
    return chain


@dataclass
class BenchTelegram(FakeTelegram):
    """:class:`FakeTelegram` that forgets calls and keeps messages per chat until told to forget."""

    by_chat: dict[int, set[int]] = field(default_factory=dict)
    last_text: dict[int, str] = field(default_factory=dict)
    call_count: int = 0

    def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        status, body = super().handle(method, params)
        self.calls.clear()  # the per-update record lives in UpdateLog, not here
        self.call_count += 1
        if method in MESSAGE_METHODS and body.get("ok"):
            chat_id = int(params["chat_id"])
            self.by_chat.setdefault(chat_id, set()).add(int(body["result"]["message_id"]))
            if method != "editMessageReplyMarkup":
                self.last_text[chat_id] = str(params.get("text", ""))
        return status, body

    def buttons(self, chat_id: int) -> list[tuple[int, str, str]]:
        """(message id, label, callback data) of every live button in one chat, newest last."""
        out: list[tuple[int, str, str]] = []
        for mid in sorted(self.by_chat.get(chat_id, ())):
            if (chat_id, mid) in self.deleted:
                continue
            msg = self.messages[(chat_id, mid)]
            for row in (msg.get("reply_markup") or {}).get("inline_keyboard", []):
                out += [(mid, b["text"], b["callback_data"]) for b in row if "callback_data" in b]
        return out

    def button(self, chat_id: int, label: str) -> tuple[int, str]:
        """The newest live button labelled ``label`` (or containing it), as the tests pick it."""
        try:
            return find_button(self.buttons(chat_id), label)
        except LookupError as err:
            raise LookupError(f"chat {chat_id}: {err}") from None

    def shows(self, chat_id: int, title: str) -> bool:
        """Whether the last text sent or edited in this chat contains ``title`` (as HTML)."""
        return html.escape(title, quote=False) in self.last_text.get(chat_id, "")

    def forget_chat(self, chat_id: int) -> None:
        """Drop everything kept for a finished conversation."""
        for mid in self.by_chat.pop(chat_id, set()):
            self.messages.pop((chat_id, mid), None)
            self.deleted.discard((chat_id, mid))
        self.last_text.pop(chat_id, None)
        self._next_id.pop(chat_id, None)


class TimedRequest(FakeRequest):
    """:class:`FakeRequest` recording each call's span against the update being processed."""

    def __init__(self, api: FakeTelegram, rtt: float = 0.0, *, keep_params: bool = False) -> None:
        super().__init__(api)
        self.rtt = rtt
        self.keep_params = keep_params  # record each call's parameters, for the same-traffic floor

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        task = asyncio.current_task()
        start = next(SEQUENCE)
        await asyncio.sleep(self.rtt)  # at least one trip through the event loop, as a real call takes
        status, body = self.api.handle(name, params)
        end = next(SEQUENCE)
        log = CURRENT.get()
        if log is not None:
            log.calls.append(CallSpan(name, start, end, lineage(task), params if self.keep_params else None))
        if name == "getUpdates" and not body.get("result"):
            await asyncio.sleep(0.01)
        return status, json.dumps(body).encode()
