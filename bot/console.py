"""The check in a terminal: the same screens as Telegram, with numbered choices.

Used by ``make run`` when no TELEGRAM_BOT_TOKEN is set, for trying the bot, for training and for
a committee previewing its content. Works with piped stdin; exits cleanly on EOF or Ctrl-C.
Whatever is typed is only matched against the choices on screen: it is never echoed, stored
or logged.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
from collections.abc import Callable
from typing import TextIO

from bot.render import to_text
from bot.service import LAST_RESORT, CheckService, Token
from flows.screens import Screen

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
# A tick step: what each control does, beside it, and the number "None of these" keeps while it is
# not offered (once something is ticked), so every option keeps its number on the screen.
TICK_HINT = "Type an item's number to tick it; type it again to untick it."
DOES = {"a:none": "go on, none of them apply", "a:unsure": "go on now", "done": "go on with what you ticked"}
NONE_GONE = "only while nothing is ticked"
NONE_REFUSED = "None of these is there only while nothing is ticked: untick first, or choose Done."


# Ctrl-C (SIGINT), closing the terminal window (SIGHUP) and a polite stop (SIGTERM) leave as q
# does: the open check is deleted first, and a second signal never interrupts that.
LEAVE_SIGNALS = (signal.SIGINT, signal.SIGHUP, signal.SIGTERM)


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
        self.discarded = False
        self.deleted = True  # until deleting the open check fails
        self.signalled: int | None = None

    def show(self, screen: Screen) -> None:
        print("\n" + "─" * 60, file=self.out)
        print(to_text(screen), file=self.out)
        print(file=self.out)
        choices = self._choices(screen)
        ticks = self._ticks(screen)  # what each control does is said on a tick step only
        for n, choice in enumerate(choices, start=1):
            if choice is None:
                print(f"  {n}. ({self.service.flow.content.multi_controls.none}: {NONE_GONE})", file=self.out)
            else:
                does = f": {DOES[choice[0]]}" if ticks and choice[0] in DOES else ""
                print(f"  {n}. {choice[1]}{does}", file=self.out)
        if ticks:
            print(f"\n{TICK_HINT}", file=self.out)
        print(f"\n{KEYS_LINE}", file=self.out)
        self.out.flush()

    def shown(self, screen: Screen) -> bool:
        """Show a screen; False when the terminal has gone (closed while it was being written)."""
        try:
            self.show(screen)
        except OSError:
            return False
        return True

    @staticmethod
    def _ticks(screen: Screen) -> bool:
        return any(b.action.startswith("t:") for row in screen.buttons for b in row)

    @classmethod
    def _choices(cls, screen: Screen) -> list[tuple[str, str] | None]:
        """The numbered choices; on a tick step, None holds the number of "None of these" while
        it is not offered, so Done, Back and the rest keep their numbers after the first tick."""
        choices: list[tuple[str, str] | None] = [(b.action, b.label) for row in screen.buttons for b in row]
        actions = [c[0] for c in choices if c is not None]
        if cls._ticks(screen) and "a:none" not in actions:
            last_item = max(i for i, a in enumerate(actions) if a.startswith("t:"))
            choices.insert(last_item + 1, None)
        return choices

    async def _apply(self, action: str) -> None:
        """What a chosen number or letter does is the service's (:meth:`CheckService.press`)."""
        reply = await self.service.press(key=self.key, action=action, token=self.token)
        if reply.kind == "clear":
            print("\033[2J\033[H", end="", file=self.out)
        self.screen, self.token = reply.screen, reply.token
        self.show(self.screen)

    async def _failed(self, error: Exception) -> bool:
        """The safety net (:meth:`CheckService.failure`), its choices the ones typed next; False
        when even that cannot be written (the window was closed mid-screen)."""
        try:
            reply = await self.service.failure(key=self.key, error=error)
        except Exception:  # noqa: BLE001 - the one last-resort text, with nothing above it
            return self._said(LAST_RESORT)
        self.screen, self.token = reply.screen, reply.token
        return self.shown(self.screen)

    async def discard(self) -> None:
        """Delete the check in progress, if any: the terminal keeps nothing once it is left.
        Once only: the goodbye does it before saying so, and ``run`` makes sure of it on Ctrl-C."""
        if self.discarded:
            return
        self.discarded = True
        try:
            await self.service.cancel(key=self.key, update_id=None)
        except Exception as err:  # noqa: BLE001 - leaving must never fail; the row expires anyway
            self.say(f"(Could not delete the open check now: {type(err).__name__}. It expires by itself.)")
            self.deleted = False

    def farewell(self) -> str:
        """The last line; never "your answers were deleted" when deleting just failed (the note
        printed then says so)."""
        if not self.deleted:
            return "Goodbye."
        return GOODBYE_COUNTED if self.service.counting else GOODBYE

    async def goodbye(self) -> int:
        await self.discard()
        self.say("\n" + self.farewell())
        return 0

    def say(self, line: str) -> None:
        """Print a last line; a terminal that has just been closed (SIGHUP) cannot take it."""
        self._said(line)

    def _said(self, line: str) -> bool:
        try:
            print(line, file=self.out, flush=True)
        except (OSError, ValueError):
            return False
        return True

    def _on_signal(self, signum: int, main: asyncio.Task[int]) -> None:
        # Once, and never while the open check is being deleted: a closed terminal both ends the
        # input (the goodbye starts deleting) and sends SIGHUP, and cancelling then would stop
        # the deletion halfway. The goodbye under way ends the run anyway.
        if self.signalled is None and not self.discarded:
            self.signalled = signum
            main.cancel()

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        main = asyncio.current_task()
        assert main is not None
        for signum in LEAVE_SIGNALS:
            loop.add_signal_handler(signum, self._on_signal, signum, main)
        try:
            return await self._loop()
        except asyncio.CancelledError:
            if self.signalled is None:
                raise
            return await self.goodbye()
        finally:
            await self.discard()  # whatever ended the run; deleting twice is harmless
            for signum in LEAVE_SIGNALS:
                loop.remove_signal_handler(signum)
            # Closing the window ends the input and sends SIGHUP at nearly the same moment: when
            # the end of input came first, the SIGHUP may land after this run is over, and its
            # default action would kill a process that is only exiting. Nothing is left to do by
            # then but exit, so it is ignored.
            signal.signal(signal.SIGHUP, signal.SIG_IGN)

    def _reader(self) -> asyncio.Queue[str]:
        """Lines typed, read by a daemon thread: leaving (q, a signal) never waits for a read that
        may never return, as a worker thread of the event loop would make it."""
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[str] = asyncio.Queue()

        def read() -> None:
            line = "x"
            while line:
                try:
                    line = self.inp.readline()
                except (OSError, ValueError):  # the terminal went away
                    line = ""
                try:
                    loop.call_soon_threadsafe(lines.put_nowait, line)
                except RuntimeError:  # the loop has closed: the console is gone
                    return

        threading.Thread(target=read, name="console-input", daemon=True).start()
        return lines

    async def _loop(self) -> int:
        if not self.shown(self.screen):
            return await self.goodbye()
        if self.after_first_screen is not None:
            self.after_first_screen()  # e.g. open the database while the practitioner reads
        typed = self._reader()
        while True:
            line = await typed.get()
            if not line or not await self.handle(line):
                return await self.goodbye()

    async def handle(self, line: str) -> bool:
        """One typed line: a choice's number, a letter, or anything else (never kept); False to
        leave (q, or a window closed mid-screen)."""
        choice = line.strip().lower()
        if choice == "q":
            return False
        choices = self._choices(self.screen)
        try:
            if choice.isdigit() and 1 <= int(choice) <= len(choices):
                picked = choices[int(choice) - 1]
                if picked is None:
                    print(NONE_REFUSED, file=self.out)
                else:
                    await self._apply(picked[0])
            elif choice in LETTERS:
                await self._apply(f"look:{LETTERS[choice]}")
            elif choice == "x":
                await self._apply("stop")
            else:
                print(TYPED, file=self.out)
        except Exception as err:  # noqa: BLE001 - whatever failed, the practitioner still gets 999
            # If even that cannot be written, the window was closed mid-screen: leave as at the
            # end of input (the open check is deleted).
            return await self._failed(err)
        return True


def run_console(
    service: CheckService,
    *,
    key: str,
    inp: TextIO = sys.stdin,
    out: TextIO = sys.stdout,
    after_first_screen: Callable[[], None] | None = None,
) -> int:
    """Run the terminal check until EOF, q, Ctrl-C, SIGHUP or SIGTERM."""
    console = Console(service, key, out=out, inp=inp, after_first_screen=after_first_screen)
    try:
        return asyncio.run(console.run())
    except KeyboardInterrupt:
        console.say("\n" + console.farewell())
        return 0
