"""A neutral screen as a web page: what the templates need, with no wording of its own.

Every word comes from the screen (so from the content file) or from the content's ``texts.web``.
The page follows the Scottish Government Design System's question pages: a step is one form
(the check's token, and on a multi step real checkboxes with each item's help as a hint, an
exclusive "None of these", and the buttons that close the step), sent with one request, so the
page works with JavaScript off. Everything else (lookups, back to the check, the safety net) is a
link or a small form of its own. Screens are read generically: a new section or step just works.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flows.contacts import ContactLine
from flows.schema import Content
from flows.screens import Screen, Section, parse_action

LEADING_SYMBOL = re.compile(r"^([^\w\s]+)\s+(.+)$")
NONE = "a:none"  # the multi step's "None of these": an exclusive checkbox on the web


@dataclass(frozen=True)
class Control:
    """One button or link. ``kind``: "act" (a button of the step's form), "start", "clear",
    "feedback" (small forms of their own) or "link"."""

    kind: str
    label: str
    value: str = ""
    href: str = ""
    secondary: bool = False


@dataclass(frozen=True)
class Checkbox:
    """One item of a multi step: ``value`` is sent when ticked; ``hint`` is its help."""

    value: str
    label: str
    hint: str = ""
    checked: bool = False


@dataclass(frozen=True)
class Block:
    """A section: heading, style, lines, and contacts with dialable numbers. ``readout``: the
    anonymous summary to read out (and copy); ``warning``: shown as warning text."""

    title: str | None
    style: str
    lines: tuple[str, ...]
    contacts: tuple[ContactLine, ...] = ()
    readout: bool = False
    warning: bool = False


@dataclass(frozen=True)
class Lead:
    """The top of an outcome: the level (the title), the first thing to do, and whom to call
    first with the number."""

    first_action: str
    contact: ContactLine | None


@dataclass
class Page:
    title: str
    blocks: list[Block]
    controls: list[Control]  # links and small forms, after the step's form
    buttons: list[Control] = field(default_factory=list)  # the step form's submit buttons
    checkboxes: list[Checkbox] = field(default_factory=list)
    exclusive: Checkbox | None = None
    hint: str = ""  # the question's text, under its heading
    alert: bool = False  # the question's text is a warning (a notice step: call 999 now)
    token: str = ""
    level: str | None = None
    final: bool = False
    outcome: bool = False
    lead: Lead | None = None
    error: str = ""  # why the form was refused (the error summary and message)

    @property
    def form(self) -> bool:
        return bool(self.buttons)


def split_symbol(label: str) -> tuple[str, str]:
    """("🚨", "Emergency") for "🚨 Emergency": the symbol is shown but hidden from screen readers,
    so no button is announced by its emoji and none relies on it for meaning."""
    m = LEADING_SYMBOL.match(label)
    return (m.group(1), m.group(2)) if m else ("", label)


def page_of(
    screen: Screen,
    content: Content,
    *,
    token: str = "",
    fallback_title: str = "",
    error: str = "",
) -> Page:
    """The page for a screen; ``token`` is the check's "<check id>.<version>" for its form."""
    web = content.texts.web
    mc = content.multi_controls
    items = {i.id: i for i in (*content.indicators, *content.factors)}
    page = Page(
        title=screen.title or fallback_title,
        blocks=[],
        controls=[],
        token=token,
        level=screen.level,
        final=screen.final,
        outcome=screen.level is not None,
        error=error,
    )
    toggles: list[str] = []
    for row in screen.buttons:
        for b in row:
            parsed = parse_action(b.action)
            if parsed is None:
                continue
            if parsed.kind == "toggle" and parsed.arg in items:
                ticked = b.label.startswith(mc.picked_mark)
                item = items[parsed.arg]
                page.checkboxes.append(Checkbox(parsed.arg, item.label, item.help, ticked))
                toggles.append(f"{item.label}: {item.help}")
            elif b.action == NONE:
                page.exclusive = Checkbox(NONE, b.label)
            elif parsed.is_event:
                page.buttons.append(Control("act", b.label, b.action, secondary=parsed.kind != "answer"))
            else:
                control = _control(parsed.kind, parsed.arg, b.label, b.action, web.clear_start)
                if control is not None:
                    page.controls.append(control)
    if page.checkboxes:
        # One form: "None of these" is always there, as an exclusive checkbox (refused with a
        # tick, the ticks kept); the step's closers are its buttons, "Done" first.
        page.exclusive = page.exclusive or Checkbox(NONE, mc.none)
        page.buttons.sort(key=lambda c: c.value != "done")
        page.buttons = [
            Control("act", c.label, c.value, secondary=c.value != "done") for c in page.buttons
        ]
    sections = list(screen.sections)
    if page.buttons and sections and not page.outcome:
        # The question's own text goes under its heading; a multi step's list of help is shown
        # as each item's hint instead.
        question = next((s for s in sections if s.style == "para" and s.title is None), None)
        if question is not None and len(question.lines) == 1:
            page.hint = question.lines[0]
            sections.remove(question)
            page.alert = any(s.id == screen.key and s.kind == "notice" for s in content.steps)
        sections = [s for s in sections if list(s.lines) != toggles or not toggles]
    page.blocks = [_block(s, content) for s in sections]
    if page.outcome:
        page.lead = _lead(page.blocks)
    return page


def _control(kind: str, arg: str | None, label: str, action: str, clear_label: str) -> Control | None:
    if kind in ("start", "restart"):
        return Control("start", label, action)
    if kind == "resume":
        return Control("link", label, href="/")
    if kind == "clear":
        return Control("clear", clear_label, "clear", secondary=True)
    if kind == "look":
        return Control("link", label, href=f"/look/{arg}", secondary=arg != "emergency")
    if kind == "feedback" and arg:
        return Control("feedback", label, arg, secondary=True)
    return None


def _block(sec: Section, content: Content) -> Block:
    return Block(
        sec.title,
        sec.style,
        tuple(sec.lines),
        tuple(sec.contacts),
        readout=sec.title == content.summary.title,
        # The banners on top of every screen (a draft preview, example contacts) are warnings.
        warning=sec.style == "note" and sec.lines in _banners(content),
    )


def _banners(content: Content) -> tuple[tuple[str, ...], ...]:
    return ((content.texts.example_contacts,), (content.texts.draft_banner,))


def _lead(blocks: list[Block]) -> Lead | None:
    """The outcome's first thing to do (its first numbered step) and the first contact with a
    number to call, so both are on the first screen."""
    steps = next((b for b in blocks if b.style == "numbered" and b.lines), None)
    if steps is None:
        return None
    contact = next((c for b in blocks if b.style == "contacts" for c in b.contacts if c.tel), None)
    return Lead(steps.lines[0], contact)
