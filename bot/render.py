"""Turn a neutral screen into text: plain lines for the terminal, HTML for Telegram.

Neither renderer adds wording of its own: every word comes from the screen, which comes from the
content file. HTML output escapes every piece of text and is split on paragraph boundaries so
no message exceeds Telegram's 4096-character limit.
"""

from __future__ import annotations

import functools
from html import escape

import phonenumbers

from flows.contacts import ContactLine
from flows.screens import Screen, Section

TELEGRAM_LIMIT = 4096


def tappable(c: ContactLine) -> str | None:
    """The number in the international form Telegram turns into a link on a phone, or None.

    None for short codes (999, 112, 101, 116 123: already dialable as they are) and for a line
    with no number. The shown national grouping is kept behind +44 ("01324 503650" becomes
    "+44 1324 503650", "0808 1000 900" becomes "+44 808 1000 900"), so the number a UK reader
    knows is still recognisable.
    """
    return _tappable(c.phone, c.tel) if c.phone else None


@functools.lru_cache(maxsize=1024)  # the same few numbers on every screen; parsing one costs ~0.1 ms
def _tappable(phone: str, tel: str | None) -> str | None:
    c = ContactLine("", phone, None, tel)
    assert c.phone is not None
    try:
        number = phonenumbers.parse(c.tel or c.phone, "GB")
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_valid_short_number(number) or not phonenumbers.is_possible_number(number):
        return None
    shown = " ".join(c.phone.split())
    code = f"+{number.country_code}"
    national = phonenumbers.national_significant_number(number)
    if number.country_code == 44 and shown.startswith("0") and shown[1:].replace(" ", "") == national:
        return f"{code} {shown[1:]}"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _phone_html(c: ContactLine) -> str:
    """Telegram: a full number plain and international, so Telegram links it (tap to call); a short
    code in bold as it is."""
    linked = tappable(c)
    if linked is not None:
        return escape(linked, quote=False)
    return f"<b>{escape(c.phone, quote=False)}</b>" if c.phone else ""


def _section_lines(sec: Section, *, html: bool) -> list[str]:
    esc = (lambda s: escape(s, quote=False)) if html else (lambda s: s)
    out: list[str] = []
    if sec.title:
        out.append(f"<b>{esc(sec.title)}</b>" if html else sec.title.upper())
    if sec.style == "contacts":
        for c in sec.contacts:
            # The terminal keeps the national form; Telegram gets a number it can link.
            number = _phone_html(c) if html else (c.phone or "")
            if c.phone:
                line = f"{esc(c.name)}: {number}" + (f" ({esc(c.detail)})" if c.detail else "")
            else:
                # No number (a web-only service such as CEOP): its address or how to reach it is
                # the action, never an empty number followed by brackets.
                line = f"{esc(c.name)}: {esc(c.detail)}" if c.detail else esc(c.name)
            out.append(("☎️ " if c.phone else "• ") + line)
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
