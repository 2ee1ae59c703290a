"""What one screen is, whatever the channel: a title, sections of text and rows of buttons, and
the action codes its buttons (and the commands) carry, parsed here once for every front end.
:class:`flows.screens.Screens` builds them; the adapters only turn them into their own medium.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from flows.contacts import ContactLine, Directory

Style = Literal["para", "bullets", "numbered", "contacts", "note"]
LOOKUPS = (
    "emergency",
    "indicators",
    "vulnerabilities",
    "online",
    "whatis",
    "contacts",
    "privacy",
    "about",
    "help",
)


@dataclass(frozen=True)
class Action:
    """A button's action code, parsed once for every front end: ``kind`` and its argument.

    kinds: ``answer``/``toggle``/``done``/``back``/``cancel`` (events of the check), ``look``
    (a lookup by name), ``start``, ``restart``, ``resume``, ``clear`` (Telegram adds the check's
    first message as ``x:<id>``) and ``feedback`` (``fb:<code>``); and the commands no screen
    draws as a button: ``stop`` (stop any check in progress: /cancel, the terminal's x),
    ``forget`` (/forget) and ``welcome`` (/start).
    """

    kind: str
    arg: str | None = None

    @property
    def is_event(self) -> bool:
        return self.kind in ("answer", "toggle", "done", "back", "cancel")


_PLAIN = frozenset(
    {"done", "back", "cancel", "start", "restart", "resume", "clear", "stop", "forget", "welcome"}
)
_PREFIXED = {"a": "answer", "t": "toggle", "look": "look", "fb": "feedback", "x": "clear"}


def parse_action(code: str) -> Action | None:
    """The :class:`Action` for a button's or a command's code, or None for anything else."""
    if code in _PLAIN:
        return Action(code)
    prefix, sep, arg = code.partition(":")
    if sep and arg and prefix in _PREFIXED:
        return Action(_PREFIXED[prefix], arg)
    return None


@dataclass(frozen=True)
class Button:
    action: str
    label: str


@dataclass(frozen=True)
class Section:
    lines: tuple[str, ...] = ()
    title: str | None = None
    style: Style = "para"
    contacts: tuple[ContactLine, ...] = ()


@dataclass(frozen=True)
class Screen:
    key: str
    title: str
    sections: tuple[Section, ...] = ()
    buttons: tuple[tuple[Button, ...], ...] = ()
    final: bool = False
    level: str | None = None


Channel = Literal["telegram", "terminal", "web"]


@dataclass(frozen=True)
class Context:
    """What a screen needs besides the conversation: contacts, the time, the service, and the
    channel (a few lines, such as Telegram's /forget, only make sense in one channel)."""

    directory: Directory
    now: dt.datetime
    service: str | None = None
    channel: Channel = "telegram"
    # A draft preview (content not approved, or --draft): "DRAFT – not for use" on every screen.
    draft: bool = False
