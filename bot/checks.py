"""The check's transactions, for every channel: each action decided inside one store transaction.

Decide, commit, then render: inside the store's transaction only the event is applied to the
conversation loaded from its row (codes only, keyed by the chat's pseudonymous key); the screen is
built after the commit. A :class:`Reply` says what kind of screen it holds; buttons carry a
:class:`Token` (the check's random id and the version they were drawn at), so a button from an old
screen or a finished check cannot change anything. What a practitioner's action means (which of
these runs) is :class:`bot.service.CheckService`'s.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from typing import Literal

from flows.contacts import Directory
from flows.machine import CANCELLED, OUTCOME, Conversation, Flow, InvalidConversation
from flows.screens import Action, Channel, Context, Screen, Screens
from storage.base import ABANDONED, ConversationStore, Decision, OutcomeCount, Record


@dataclass(frozen=True)
class Token:
    """What a button presents: which check, and the version of the screen it was drawn on."""

    check_id: str
    version: int


# What kind of screen a reply holds, for each channel to show its own way:
# ``step``: a question of the check in progress (its buttons carry the token);
# ``outcome``: the advice at the end; ``cancelled``: the check was stopped, here is whom to call;
# ``ended``: the button belonged to a check that no longer exists (or was never drawn);
# ``lookup``: a reference screen; ``welcome``; ``notice``: a line and the contacts (forgotten,
# thanks for a report); ``clear``: "Clear this chat" (Telegram deletes the check's messages from
# ``anchor`` on; the terminal clears its screen), then the check still open (with its token) or the
# welcome; ``failure``: the safety net.
Kind = Literal["step", "outcome", "cancelled", "ended", "lookup", "welcome", "notice", "clear", "failure"]

@dataclass(frozen=True)
class Reply:
    """What to show after an action.

    ``kind``: what sort of screen it is (:data:`Kind`).
    ``edit``: replace the pressed message in place (False: a new message); Telegram's concern.
    ``changed``: False when nothing happened (a double tap, a refused event): show nothing new.
    ``anchor``: the first message of a finished check, for "Clear this chat".
    ``refused``: why a form was refused without changing the step (:meth:`CheckService.press`
    with ``ticks``): "none_with_ticks" ("None of these" with a tick, the ticks kept) or "invalid".
    """

    screen: Screen
    kind: Kind = "step"
    token: Token | None = None
    edit: bool = True
    changed: bool = True
    anchor: int | None = None
    refused: str | None = None

    @property
    def ended(self) -> bool:
        """The button belonged to a check that no longer exists."""
        return self.kind == "ended"


NONE_WITH_TICKS, INVALID = "none_with_ticks", "invalid"

class Checks:
    """The check in progress for each chat, over any :class:`ConversationStore`."""

    def __init__(
        self,
        *,
        flow: Flow,
        store: ConversationStore,
        directory: Directory,
        clock: Callable[[], dt.datetime],
        channel: Channel = "telegram",
        counting: bool = True,
        draft: bool = False,
    ) -> None:
        self.flow = flow
        self.screens = Screens(flow)
        self.store = store
        self.directory = directory
        self.clock = clock
        self.channel: Channel = channel
        # False for practice runs (a terminal pretending another time with --now): nothing
        # they do reaches the anonymous figures.
        # A draft preview (content not yet approved, or a reviewer's --draft): "DRAFT – not for
        # use" on every screen, and never counted.
        self.draft = draft or flow.content.is_draft
        self.counting = counting and not self.draft
        self._siblings: list[Checks] = []  # the same check in another channel (sibling)

    def use_directory(self, directory: Directory) -> None:
        """Use new contacts from now on (a reload). The services are part of every open check,
        so their codes must stay the same; their labels, people and numbers may change."""
        old, new = [c for c, _ in self.flow.services], [c for c, _ in directory.services]
        if old != new:
            raise ValueError(
                f"the services changed ({', '.join(old)} -> {', '.join(new)}): restart the bot to apply that"
            )
        self.flow.services[:] = directory.services
        self.directory = directory
        for other in self._siblings:
            other.directory = directory

    def context(self, service: str | None = None) -> Context:
        return Context(self.directory, self.clock(), service, self.channel, self.draft)

    # -- the check -----------------------------------------------------------------------
    async def start(self, *, key: str, update_id: int | None, anchor: int | None = None) -> Reply:
        """Begin a new check, replacing any unfinished one for this chat."""
        conv = self.flow.new()
        self.flow.fire(conv, "start")
        record = Record(conv.to_dict(), secrets.token_urlsafe(6), 1, anchor, self.flow.content.meta.version)

        def decide(previous: Record | None) -> Decision:
            return Decision(record, self._abandoned(previous))

        await self.store.transact(key=key, update_id=update_id, decide=decide)
        return self._render(_View("step", conv, record), edit=False)

    def first_step(self, check_id: str) -> Reply:
        """The first question of a new check, kept nowhere (the web, issue 21 §4): the row is
        written with the first answer (:meth:`press` with ``fresh`` this ``check_id``)."""
        conv, record = self._fresh(check_id)
        return self._render(_View("step", conv, record), edit=False)

    def _fresh(self, check_id: str) -> tuple[Conversation, Record]:
        conv = self.flow.new()
        self.flow.fire(conv, "start")
        return conv, Record(conv.to_dict(), check_id, 1, None, self.flow.content.meta.version)

    def _or_fresh(
        self, decide: Callable[[Record | None], Decision], fresh: str | None, token: Token | None
    ) -> Callable[[Record | None], Decision]:
        """``decide``, given the new check of :meth:`first_step` when no check is stored and the
        button is that check's first question (``fresh``: its check id)."""
        if fresh is None or token != Token(fresh, 1):
            return decide
        return lambda record: decide(record if record is not None else self._fresh(fresh)[1])

    async def apply(
        self, key: str, update_id: int | None, action: Action, token: Token | None, fresh: str | None
    ) -> Reply:
        """Apply a button's event to the conversation it belongs to.

        Decide, commit, then render: inside the store's transaction only the event is applied
        to the loaded conversation; the screen is built after the commit.
        """
        view = _View("ended")

        def decide(record: Record | None) -> Decision:
            nonlocal view
            if record is None or (token is not None and token.check_id != record.check_id):
                return Decision(record, changed=False)
            conv = self._load(record)
            if conv is None:
                return Decision(None)
            if token is not None and token.version != record.version:
                # A double tap or an older screen of this check: change nothing.
                view = _View("step", conv, record, changed=False)
                return Decision(record, changed=False)
            if not self.flow.fire(conv, action.kind, action.arg):
                view = _View("step", conv, record, changed=False)
                return Decision(record, changed=False)
            view, decision = self._moved_on(conv, record)
            return decision

        await self.store.transact(key=key, update_id=update_id, decide=self._or_fresh(decide, fresh, token))
        return self._render(view)

    async def submit(
        self, key: str, token: Token, action: Action, ticks: Collection[str], fresh: str | None
    ) -> Reply:
        """A web form in one transaction: on a multi step the ticks as sent (the whole set) are
        applied first, then the button pressed. "None of these" (``a:none``) with a tick is refused
        as in Telegram, keeping the ticks (``refused`` "none_with_ticks"); anything that does not
        fit the step changes nothing (``refused`` "invalid")."""
        view, refused = _View("ended"), None

        def decide(record: Record | None) -> Decision:
            nonlocal view, refused
            if record is None:
                return Decision(record, changed=False)
            conv = self._load(record)
            if conv is None:
                return Decision(None)
            if token != Token(record.check_id, record.version):  # a page from before (Back, a tab)
                view = _View("step", conv, record, changed=False)
                return Decision(record, changed=False)
            before = conv.to_dict()
            if not self._tick(conv, ticks):
                view, refused = _View("step", self.flow.load(before), record, changed=False), INVALID
                return Decision(record, changed=False)
            if self.flow.fire(conv, action.kind, action.arg):
                view, decision = self._moved_on(conv, record)
                return decision
            ticked = conv.picked.get(conv.state, [])
            if action.kind == "answer" and action.arg == "none" and ticked:
                refused = NONE_WITH_TICKS
                view, decision = self._moved_on(conv, record)  # the ticks are kept
                return decision
            view, refused = _View("step", self.flow.load(before), record, changed=False), INVALID
            return Decision(record, changed=False)

        await self.store.transact(key=key, update_id=None, decide=self._or_fresh(decide, fresh, token))
        return replace(self._render(view), refused=refused)

    def _tick(self, conv: Conversation, ticks: Collection[str]) -> bool:
        """Make the multi step's ticks exactly ``ticks`` (False if the step has no such items)."""
        step = next((s for s in self.flow.steps if s.id == conv.state), None)
        if step is None or step.kind != "multi":
            return not ticks
        if not set(ticks) <= set(step.items):
            return False
        ticked = set(conv.picked.get(step.id, []))
        return all(self.flow.fire(conv, "toggle", i) for i in step.items if (i in ticks) != (i in ticked))

    def _moved_on(self, conv: Conversation, record: Record) -> tuple[_View, Decision]:
        """What to show and save once an event moved the conversation on: the outcome (counted;
        the web keeps its codes until the session ends, see :attr:`keeps_outcome`), the stopped
        check (counted as abandoned), or the next screen under a new version."""
        service = self.flow.service_of(conv) or ""
        if conv.state == OUTCOME:
            level = conv.level or self.flow.content.default_level
            day, version = self.clock().date(), record.content_version
            count = OutcomeCount(day, level, version, service, self.channel)
            kept = self._next(conv, record, service) if self.keeps_outcome else None
            return _View("outcome", conv, record), Decision(kept, count if self.counting else None)
        if conv.state == CANCELLED:
            return _View("cancelled", conv, record), Decision(None, self._abandoned_with(record, service))
        new = self._next(conv, record, service)
        return _View("step", conv, new), Decision(new)

    @staticmethod
    def _next(conv: Conversation, record: Record, service: str) -> Record:
        return Record(
            conv.to_dict(),
            record.check_id,
            record.version + 1,
            record.anchor_message_id,
            record.content_version,
            service,
        )

    @property
    def keeps_outcome(self) -> bool:
        """The web keeps a finished check's codes until the session ends (or "Clear and start
        again"), so a reload or a tab the phone evicted shows the advice again. Telegram keeps
        the outcome as a message in the chat, the terminal on the screen: nothing to keep."""
        return self.channel == "web"

    async def current(self, *, key: str, update_id: int | None) -> Reply | None:
        """The step in progress as a new message (after a lookup), or None with no check open."""
        view: _View | None = None

        def decide(record: Record | None) -> Decision:
            nonlocal view
            conv = self._load(record) if record is not None else None
            if conv is not None:
                view = _View("step", conv, record)
            return Decision(record, changed=False)

        await self.store.transact(key=key, update_id=update_id, decide=decide)
        return None if view is None else self._render(view, edit=False)

    async def cancel(self, *, key: str, update_id: int | None) -> Reply:
        """Stop any check in progress; the reply still shows whom to call."""
        service: str | None = None

        def decide(record: Record | None) -> Decision:
            nonlocal service
            if record is not None:
                conv = self._load(record)
                service = self.flow.service_of(conv) if conv else None
            return Decision(None, self._abandoned(record), changed=record is not None)

        await self.store.transact(key=key, update_id=update_id, decide=decide)
        return Reply(self.screens.cancelled(self.context(service)), "cancelled", edit=False)

    async def forget(self, *, key: str, update_id: int | None = None) -> Reply:
        """Delete everything kept for this chat, then say so.

        The update id is recorded in the transaction that deletes the check, so a redelivered
        /forget is refused as a duplicate (and cannot delete a check started since).
        """
        await self.store.transact(
            key=key, update_id=update_id, decide=lambda record: Decision(None, changed=record is not None)
        )
        await self.store.forget(key=key)
        screen = self.screens.notice(self.flow.content.texts.forgotten, self.context())
        return Reply(screen, "notice", edit=False)

    async def record(self, *, key: str, update_id: int | None) -> None:
        """Record a handled update that changes no check (a lookup, /start, clearing the chat), so
        that Telegram redelivering it is refused as :class:`Duplicate` and not answered twice.
        With no update id (the terminal) there is nothing to record."""
        if update_id is None:
            return
        await self.store.transact(
            key=key, update_id=update_id, decide=lambda record: Decision(record, changed=False)
        )

    def ended(self) -> Reply:
        """A button from a check that no longer exists: say so, with 999 and whom to call."""
        screen = self.screens.notice(self.flow.content.texts.stale, self.context(), with_contacts=True)
        return Reply(screen, "ended", edit=False)

    # -- helpers --------------------------------------------------------------------------
    def _abandoned(self, record: Record | None) -> OutcomeCount | None:
        """The anonymous count for a check left unfinished (replaced or cancelled), if there was one
        with at least one answer (version 1 is the first question, unanswered): starting again,
        however often, is not a check left (issue 21 §3)."""
        if record is None or not self.counting or record.version <= 1 or record.data.get("state") == OUTCOME:
            return None  # a finished check the web kept was counted when it finished
        if record.service:
            return self._abandoned_with(record, record.service)
        conv = self._load(record)  # a row kept before the service had its own column
        return self._abandoned_with(record, (self.flow.service_of(conv) if conv else None) or "")

    def _abandoned_with(self, record: Record, service: str) -> OutcomeCount | None:
        if not self.counting or record.version <= 1:
            return None
        return OutcomeCount(self.clock().date(), ABANDONED, record.content_version, service, self.channel)

    def _load(self, record: Record) -> Conversation | None:
        try:
            return self.flow.load(record.data)
        except InvalidConversation:
            return None

    def _render(self, view: _View, *, edit: bool = True) -> Reply:
        """The reply for a decision, built after the commit from the conversation already loaded."""
        conv, record = view.conv, view.record
        if view.kind == "ended" or conv is None or record is None:
            return self.ended()
        ctx = self.context(self.flow.service_of(conv))
        if view.kind == "outcome":
            screen = self.screens.outcome(conv, ctx)
            return Reply(screen, "outcome", edit=False, anchor=record.anchor_message_id)
        if view.kind == "cancelled":
            return Reply(self.screens.cancelled(ctx), "cancelled", edit=True)
        screen = self.screens.for_conversation(conv, ctx)
        token = Token(record.check_id, record.version)
        return Reply(screen, "step", token, edit=edit, changed=view.changed)


@dataclass(frozen=True)
class _View:
    """What a decision leaves to show: the kind of screen, the conversation (already loaded and
    moved on by the event) and the record as saved (for the buttons' token)."""

    kind: Literal["ended", "step", "outcome", "cancelled"]
    conv: Conversation | None = None
    record: Record | None = None
    changed: bool = True
