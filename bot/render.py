"""Turn a neutral screen into text: plain lines for the terminal, HTML for Telegram.

Neither renderer adds wording of its own: every word comes from the screen, which comes from the
content file. HTML output escapes every piece of text and is split on paragraph boundaries so
no message exceeds Telegram's 4096-character limit.
"""

from __future__ import annotations

from html import escape

from flows.contacts import ContactLine
from flows.screens import Screen, Section

TELEGRAM_LIMIT = 4096


def _contact_text(c: ContactLine) -> tuple[str, str | None, str | None]:
    return c.name, c.phone, c.detail


def _section_lines(sec: Section, *, html: bool) -> list[str]:
    esc = (lambda s: escape(s, quote=False)) if html else (lambda s: s)
    out: list[str] = []
    if sec.title:
        out.append(f"<b>{esc(sec.title)}</b>" if html else sec.title.upper())
    if sec.style == "contacts":
        for c in sec.contacts:
            name, phone, detail = _contact_text(c)
            parts = [f"<b>{esc(phone)}</b>" if (html and phone) else (phone or "")]
            line = f"{esc(name)}: " + " ".join(p for p in parts if p)
            if detail:
                line += f" ({esc(detail)})"
            out.append(("☎️ " if phone else "• ") + line.rstrip(": "))
        out.extend(f"<i>{esc(b)}</i>" if html else b for b in sec.lines)
        return out
    for i, line in enumerate(sec.lines, start=1):
        text = esc(line)
        if sec.style == "bullets":
            out.append(f"• {text}")
        elif sec.style == "numbered":
            out.append(f"{i}. {text}")
        elif sec.style == "note":
            out.append(f"<i>{text}</i>" if html else text)
        else:
            out.append(text)
    return out


def paragraphs(screen: Screen, *, html: bool) -> list[str]:
    """The screen as paragraphs (title first), each a block of lines."""
    paras: list[str] = []
    if screen.title:
        paras.append(f"<b>{escape(screen.title, quote=False)}</b>" if html else screen.title)
    for sec in screen.sections:
        lines = _section_lines(sec, html=html)
        if lines:
            paras.append("\n".join(lines))
    return paras


def to_text(screen: Screen) -> str:
    return "\n\n".join(paragraphs(screen, html=False))


def to_html_parts(screen: Screen, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """HTML messages for a screen, split between paragraphs so each fits the limit.

    A paragraph longer than the limit on its own is split between lines; tags never span lines,
    so no tag or entity is ever cut.
    """
    parts: list[str] = []
    current = ""
    for para in paragraphs(screen, html=True):
        pieces = [para] if len(para) <= limit else _split_lines(para, limit)
        for piece in pieces:
            candidate = f"{current}\n\n{piece}" if current else piece
            if len(candidate) <= limit:
                current = candidate
            else:
                parts.append(current)
                current = piece
    if current:
        parts.append(current)
    return parts


def _split_lines(para: str, limit: int) -> list[str]:
    out: list[str] = []
    current = ""
    for line in para.split("\n"):
        while len(line) > limit:  # a single enormous line: cut at a space, outside tags
            cut = line.rfind(" ", 0, limit)
            cut = cut if cut > 0 else limit
            out.append(line[:cut])
            line = line[cut:].lstrip()
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= limit:
            current = candidate
        else:
            out.append(current)
            current = line
    if current:
        out.append(current)
    return out
