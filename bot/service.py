"""What each action of a practitioner does, for every front end.

The three channels (Telegram, the terminal, the web page) only translate: what the practitioner
tapped, typed or submitted becomes an *action* code (a button's, or a command's), and
:meth:`CheckService.press` does the rest, whatever the channel: it parses the action once, runs it
(on the check, :class:`bot.checks.Checks`: one store transaction each) and returns a
:class:`Reply` whose ``kind`` says what sort of screen it holds (a step, the outcome, a lookup…),
for the channel to show its own way. Whatever fails, :meth:`CheckService.failure` (or
:meth:`CheckService.failure_screen`, from memory) gives the one safety net, and
:data:`LAST_RESORT` the one text for when even that cannot be built.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection
from dataclasses import replace

from bot.checks import INVALID, NONE_WITH_TICKS, Checks, Reply, Token
from bot.stats import load_stats, review_overdue
from flows import screens
from flows.screens import LOOKUPS, Button, Channel, Screen, Section
from storage.base import (  # the adapters reach storage's names through the service
    Duplicate,
    StoreUnavailable,
    chat_key,
    web_key,
)

# The adapters (bot/telegram, bot/web, the terminal) reach the check's and storage's names only
# through this module.
__all__ = [
    "INVALID",
    "LAST_RESORT",
    "NONE_WITH_TICKS",
    "CheckService",
    "Duplicate",
    "Reply",
    "StoreUnavailable",
    "Token",
    "chat_key",
    "web_key",
]
log = logging.getLogger(__name__)


# The one text for when even the safety net's screen cannot be built: verified numbers only.
LAST_RESORT = (
    "Something went wrong. If a child is in immediate danger, call 999 now. "
    "Then tell your designated person for child protection."
)
NET_LOOKUP = 1.0  # seconds the safety net waits to learn whether a check is open


LAST_RESORT_SCREEN = Screen("failure", "Call 999", (Section((LAST_RESORT,)),))


class CheckService(Checks):
    """Runs the check for every front end: what each action of a practitioner does."""

    def sibling(self, channel: Channel) -> CheckService:
        """The same check for another channel in this process (the web page beside the Telegram
        webhook): the same flow, store, contacts and clock; a contacts reload reaches both."""
        other = CheckService(
            flow=self.flow,
            store=self.store,
            directory=self.directory,
            clock=self.clock,
            channel=channel,
            counting=self.counting,
            draft=self.draft,
        )
        self._siblings.append(other)
        return other

    # -- what a practitioner does, in every channel ------------------------------------------
    async def press(
        self,
        *,
        key: str,
        action: str,
        token: Token | None = None,
        update_id: int | None = None,
        anchor: int | None = None,
        ticks: Collection[str] | None = None,
        fresh: str | None = None,
    ) -> Reply:
        """What a button, a command or a chosen number does, for every channel: the action code
        is parsed here, once, and anything the screens never draw ends as ``ended``.

        ``token``: the check and screen version the button was drawn at (a step's buttons).
        ``update_id``: recorded with the transaction, so a redelivered update raises
        :class:`Duplicate` instead of being answered twice (Telegram). ``anchor``: the message a
        new check starts from, for "Clear this chat" (Telegram). ``ticks``: a web form, which
        sends a multi step's ticks as a whole with the button pressed (events only).
        ``fresh``: the check id :meth:`first_step` showed, for a check not stored yet.
        """
        parsed = screens.parse_action(action)
        if parsed is None or (ticks is not None and (not parsed.is_event or parsed.kind == "toggle")):
            return replace(self.ended(), refused=INVALID)
        if ticks is not None:
            assert token is not None, "a form always carries the token of the page it was drawn on"
            return await self.submit(key, token, parsed, ticks, fresh)
        if parsed.is_event:
            return await self.apply(key, update_id, parsed, token, fresh)
        kind, arg = parsed.kind, parsed.arg or ""
        if kind == "look":
            if arg not in LOOKUPS:
                return self.ended()
            return await self.lookup(key=key, name=arg, update_id=update_id)
        if kind in ("start", "restart"):
            # "Start" replaces the welcome it is on (the check's first message: its anchor);
            # "Start a new check" under an outcome comes as a new message, with no anchor.
            reply = await self.start(key=key, update_id=update_id, anchor=anchor if kind == "start" else None)
            return replace(reply, edit=kind == "start")
        if kind == "resume":
            return await self.current(key=key, update_id=update_id) or self.ended()
        if kind == "stop":
            return await self.cancel(key=key, update_id=update_id)
        if kind == "forget":
            return await self.forget(key=key, update_id=update_id)
        if kind == "welcome":
            return Reply(self.welcome(in_check=await self.in_check(key, update_id)), "welcome", edit=False)
        if kind == "feedback":
            # Recorded first, so a redelivered press is neither counted nor thanked twice; the
            # thanks do not need the store.
            with contextlib.suppress(StoreUnavailable):
                await self.record(key=key, update_id=update_id)
            return await self.report_problem(arg)
        # "Clear this chat" (kind "clear"): recorded, so a redelivered press clears nothing twice.
        # The reply holds the check still open (started from an older message, say), shown again
        # once the messages are gone, so clearing never takes a check in progress with it;
        # otherwise the welcome.
        if arg and not arg.isdigit():
            return self.ended()
        anchor = int(arg) if arg else None
        current = await self.current(key=key, update_id=update_id)
        if current is not None:
            return replace(current, kind="clear", anchor=anchor)
        return Reply(self.welcome(), "clear", edit=False, anchor=anchor)

    async def lookup(
        self, *, key: str | None, name: str, update_id: int | None = None, count: bool = True
    ) -> Reply:
        """A reference screen, with "Back to the check" while one is open. It never needs the
        store: with the store down it is answered all the same. ``count``: counted anonymously
        (not the offline copies the web page's service worker saves)."""
        if name not in LOOKUPS:
            raise KeyError(name)
        in_check, _ = await asyncio.gather(
            self.in_check(key, update_id), self.note_lookup(name) if count else asyncio.sleep(0)
        )
        screen = self.screens.lookup(name, self.context(), in_check=in_check)
        return Reply(screen, "lookup", edit=False)

    async def in_check(self, key: str | None, update_id: int | None = None) -> bool:
        """Whether a check is open for this chat, as far as the store can tell now (a screen that
        does not need the store never fails for it). The update id is recorded: a redelivered
        update still raises :class:`Duplicate`. No key (a browser with no session): no check."""
        if key is None:
            return False
        try:
            return await self.current(key=key, update_id=update_id) is not None
        except Duplicate:
            raise
        except Exception as err:  # noqa: BLE001 - the screen is shown without "Back to the check"
            log.info("check state unknown: %s", type(err).__name__)
            return False

    # -- screens without state ------------------------------------------------------------
    def welcome(self, *, in_check: bool = False) -> Screen:
        """The welcome; during a check it offers going back to it first, as well as starting anew."""
        screen = self.screens.welcome(self.context())
        if not in_check:
            return screen
        t = self.flow.content.texts
        rows = [
            (Button("resume", t.continue_button),),
            *(
                tuple(Button(b.action, t.new_check_button if b.action == "start" else b.label) for b in row)
                for row in screen.buttons
            ),
        ]
        return replace(screen, buttons=tuple(rows))

    async def failure(self, *, key: str | None, error: BaseException | None = None) -> Reply:
        """The safety net for a failed update, in every channel: 999 and whom to call, and "Back
        to the check" while one is open (asked of the store only when the store is not what
        failed, and never for longer than :data:`NET_LOOKUP`)."""
        in_check = False
        if key is not None and not isinstance(error, StoreUnavailable):
            try:
                current = await asyncio.wait_for(self.current(key=key, update_id=None), NET_LOOKUP)
                in_check = current is not None
            except Exception as err:  # noqa: BLE001 - the store may be failing too: the net without it
                log.info("safety net without the check: %s", type(err).__name__)
        return Reply(self.failure_screen(error, in_check=in_check), "failure", edit=False)

    def failure_screen(
        self, error: BaseException | None = None, *, text: str | None = None, in_check: bool = False
    ) -> Screen:
        """The emergency line and designated contact, built from memory: the one screen for
        anything that failed. The store down says the check cannot go on (``texts.unavailable``),
        anything else that something went wrong (``texts.failure``); ``text`` instead, for a
        refused web request. If even this cannot be built: :data:`LAST_RESORT` and 999."""
        t = self.flow.content.texts
        try:
            line = text or (t.unavailable if isinstance(error, StoreUnavailable) else t.failure)
            screen = self.screens.notice(line, self.context(), with_contacts=True)
        except Exception as err:  # noqa: BLE001 - the last resort depends on nothing above
            log.error("safety net screen failed: %s", type(err).__name__)
            return LAST_RESORT_SCREEN
        if not in_check:
            return screen
        return replace(screen, buttons=((Button("resume", t.continue_button),), *screen.buttons))

    async def report_problem(self, code: str, *, count: bool = True) -> Reply:
        """"Report a problem with this advice": count the outcome anonymously (level, situation
        blocks shown, content version; never the chat or any text) and thank the practitioner,
        pointing to the content owner. A failure to count never stops the thanks. ``count``
        False: thank without counting (the web's second use of one outcome's ticket)."""
        parsed = self.screens.parse_feedback(code)
        if parsed is None:
            return self.ended()
        level, blocks = parsed
        if self.counting and count:
            try:
                await self.store.count_feedback(
                    day=self.clock().date(),
                    level=level,
                    blocks=blocks,
                    content_version=self.flow.content.meta.version,
                )
            except Exception as err:  # noqa: BLE001 - the thanks and the contact matter more
                log.info("feedback not counted: %s", type(err).__name__)
        return Reply(self.screens.feedback_thanks(self.context()), "notice", edit=False)

    async def stats(self, *, weeks: int = 8) -> Screen:
        """The anonymous figures for service leads, from the counters (raises StoreUnavailable)."""
        return await load_stats(self.store, self.flow.content, today=self.clock().date(), weeks=weeks)

    def review_warning(self) -> str | None:
        """A warning line when the content is past its review date, else None."""
        return review_overdue(self.flow.content, self.clock().date())

    async def note_lookup(self, name: str) -> None:
        """Count a lookup anonymously; a failure to count never stops the lookup."""
        if not self.counting:
            return
        try:
            await self.store.count_lookup(day=self.clock().date(), name=name)
        except Exception as err:  # noqa: BLE001 - counting is never worth a failed answer
            log.info("lookup not counted: %s", type(err).__name__)
