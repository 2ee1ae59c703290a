"""The check in a terminal: the same screens as Telegram, with numbered choices.

Used by ``make run`` when no TELEGRAM_BOT_TOKEN is set, for trying the bot, for training and for
a committee previewing its content. Works with piped stdin; exits cleanly on EOF or Ctrl-C.
Whatever is typed is only matched against the choices on screen: it is never echoed, stored
or logged.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import TextIO

from bot.render import to_text
from bot.service import CheckService, Reply, Token
from flows.screens import Screen, parse_action

LETTERS = {
    "e": "emergency",
    "i": "indicators",
    "v": "vulnerabilities",
    "o": "online",
    "w": "whatis",
    "c": "contacts",
    "p": "privacy",
    "a": "about",
}
KEYS_LINE = (
    "Type a number and press Enter. Any time: e emergency · i signs · v vulnerabilities · o online"
    " · w what is CSE · c contacts · p privacy · a about · x stop the check · q quit"
)
TYPED = "Please only type a number or a letter from the list. Never type names or details about a child."
GOODBYE_COUNTED = "Goodbye. Your answers were deleted. Only anonymous counts (date, level, service) are kept."
GOODBYE = "Goodbye. Nothing from this session was kept."


class Console:
    """A read-choose-show loop over :class:`CheckService`."""

    def __init__(
        self,
        service: CheckService,
        key: str,
        out: TextIO = sys.stdout,
        inp: TextIO = sys.stdin,
        after_first_screen: Callable[[], None] | None = None,
    ) -> None:
        self.service = service
        self.after_first_screen = after_first_screen
        self.key = key
        self.out = out
        self.inp = inp
        self.screen: Screen = service.welcome()
        self.token: Token | None = None
        self.in_check = False
        self.discarded = False
        self.deleted = True  # until deleting the open check fails

    def show(self, screen: Screen) -> None:
        print("\n" + "─" * 60, file=self.out)
        print(to_text(screen), file=self.out)
        print(file=self.out)
        for n, button in enumerate(self._buttons(screen), start=1):
            print(f"  {n}. {button[1]}", file=self.out)
        print(f"\n{KEYS_LINE}", file=self.out)
        self.out.flush()

    @staticmethod
    def _buttons(screen: Screen) -> list[tuple[str, str]]:
        return [(b.action, b.label) for row in screen.buttons for b in row]

    async def _apply(self, action: str) -> None:
        svc = self.service
        reply: Reply | None
        parsed = parse_action(action)
        kind, arg = (parsed.kind, parsed.arg or "") if parsed is not None else (action, "")
        if kind == "look":
            self.screen = svc.lookup(arg, in_check=self.in_check)
            await svc.note_lookup(arg)
            self.show(self.screen)
            return
        if kind in ("start", "restart"):
            reply = await svc.start(key=self.key, update_id=None)
        elif kind == "resume":
            reply = await svc.current(key=self.key, update_id=None)
        elif kind == "clear":
            print("\033[2J\033[H", end="", file=self.out)
            reply = Reply(svc.welcome(), None)
        elif kind == "stop":
            reply = await svc.cancel(key=self.key, update_id=None)
        elif kind == "feedback":
            reply = await svc.report_problem(arg)
        else:
            reply = await svc.act(key=self.key, update_id=None, action=action, token=self.token)
        if reply is None:
            reply = Reply(svc.welcome(), None)
        self.screen, self.token = reply.screen, reply.token
        self.in_check = reply.token is not None
        self.show(self.screen)

    async def discard(self) -> None:
        """Delete the check in progress, if any: the terminal keeps nothing once it is left.
        Once only: the goodbye does it before saying so, and ``run`` makes sure of it on Ctrl-C."""
        if self.discarded:
            return
        self.discarded = True
        try:
            await self.service.cancel(key=self.key, update_id=None)
        except Exception as err:  # noqa: BLE001 - leaving must never fail; the row expires anyway
            note = f"(Could not delete the open check now: {type(err).__name__}. It expires by itself.)"
            print(note, file=self.out)
            self.deleted = False

    def farewell(self) -> str:
        """The last line; never "your answers were deleted" when deleting just failed (the note
        printed then says so)."""
        if not self.deleted:
            return "Goodbye."
        return GOODBYE_COUNTED if self.service.counting else GOODBYE

    async def goodbye(self) -> int:
        await self.discard()
        print("\n" + self.farewell(), file=self.out)
        return 0

    async def run(self) -> int:
        try:
            return await self._loop()
        finally:
            await self.discard()  # also on Ctrl-C; deleting twice is harmless

    async def _loop(self) -> int:
        self.show(self.screen)
        if self.after_first_screen is not None:
            self.after_first_screen()  # e.g. open the database while the practitioner reads
        while True:
            line = await asyncio.to_thread(self.inp.readline)
            if not line:
                return await self.goodbye()
            choice = line.strip().lower()
            buttons = self._buttons(self.screen)
            if choice == "q":
                return await self.goodbye()
            try:
                if choice.isdigit() and 1 <= int(choice) <= len(buttons):
                    await self._apply(buttons[int(choice) - 1][0])
                elif choice in LETTERS:
                    await self._apply(f"look:{LETTERS[choice]}")
                elif choice == "x":
                    await self._apply("stop")
                else:
                    print(TYPED, file=self.out)
            except Exception:  # noqa: BLE001 - whatever failed, the practitioner still gets 999
                self.show(self.service.safety_net())


def run_console(
    service: CheckService,
    *,
    key: str,
    inp: TextIO = sys.stdin,
    out: TextIO = sys.stdout,
    after_first_screen: Callable[[], None] | None = None,
) -> int:
    """Run the terminal check until EOF, 'q' or Ctrl-C."""
    console = Console(service, key, out=out, inp=inp, after_first_screen=after_first_screen)
    try:
        return asyncio.run(console.run())
    except KeyboardInterrupt:
        print("\n" + console.farewell(), file=out)
        return 0
