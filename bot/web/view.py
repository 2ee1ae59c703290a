"""A neutral screen as a web page: what the templates need, with no wording of its own.

Every word comes from the screen (so from the content file) or from the content's ``texts.web``.
Buttons become either a submit button of the page's one form (the check's actions, posted with
the screen's token) or a link (lookups, back to the check), so the page works with JavaScript off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flows.contacts import ContactLine
from flows.schema import Content
from flows.screens import Screen, Section, parse_action

LEADING_SYMBOL = re.compile(r"^([^\w\s]+)\s+(.+)$")


@dataclass(frozen=True)
class Control:
    """One button or link. ``kind``: "act", "start", "clear", "feedback" (forms) or "link"."""

    kind: str
    label: str
    value: str = ""
    href: str = ""
    pressed: bool | None = None  # a tick on a multi step: True ticked, False not ticked
    anchor: str = ""


@dataclass(frozen=True)
class Block:
    """A section: heading, style, lines, and contacts with dialable numbers."""

    title: str | None
    style: str
    lines: tuple[str, ...]
    contacts: tuple[ContactLine, ...] = ()


@dataclass
class Page:
    title: str
    blocks: list[Block]
    controls: list[Control]
    token: str = ""
    level: str | None = None
    final: bool = False
    outcome: bool = False


def split_symbol(label: str) -> tuple[str, str]:
    """("🚨", "Emergency") for "🚨 Emergency": the symbol is shown but hidden from screen readers,
    so no button is announced by its emoji and none relies on it for meaning."""
    m = LEADING_SYMBOL.match(label)
    return (m.group(1), m.group(2)) if m else ("", label)


def page_of(screen: Screen, content: Content, *, token: str = "", fallback_title: str = "") -> Page:
    """The page for a screen; ``token`` is the check's "<check id>.<version>" for its form."""
    web = content.texts.web
    mark = content.multi_controls.picked_mark
    controls: list[Control] = []
    for row in screen.buttons:
        for b in row:
            control = _control(b.action, b.label, mark=mark, clear_label=web.clear_start)
            if control is not None:
                controls.append(control)
    blocks = [_block(s) for s in screen.sections]
    return Page(
        title=screen.title or fallback_title,
        blocks=blocks,
        controls=controls,
        token=token,
        level=screen.level,
        final=screen.final,
        outcome=screen.level is not None,
    )


def _control(action: str, label: str, *, mark: str, clear_label: str) -> Control | None:
    parsed = parse_action(action)
    if parsed is None:
        return None
    if parsed.kind == "toggle":
        ticked = label.startswith(mark)
        plain = label[len(mark) :].strip() if ticked else label
        return Control("act", plain, action, pressed=ticked, anchor=action.replace(":", "-"))
    if parsed.is_event:
        return Control("act", label, action)
    if parsed.kind in ("start", "restart"):
        return Control("start", label, action)
    if parsed.kind == "resume":
        return Control("link", label, href="/")
    if parsed.kind == "clear":
        return Control("clear", clear_label, "clear")
    if parsed.kind == "look":
        return Control("link", label, href=f"/look/{parsed.arg}")
    if parsed.kind == "feedback" and parsed.arg:
        return Control("feedback", label, parsed.arg)
    return None


def _block(sec: Section) -> Block:
    return Block(sec.title, sec.style, tuple(sec.lines), tuple(sec.contacts))
