"""The printable quick reference, generated from the same content and contacts as the bot.

It is the fallback when the bot cannot be reached (no signal, Telegram down, no Telegram on a
managed phone) and a staff-room poster, so it carries the deploying organisation's numbers from
the contacts file (marked EXAMPLE while the example file is used), what to do at each level in
and out of hours, and the situation blocks, with no bot commands. `cse-triage reference` writes it
as Markdown (docs/quick-reference.md) and as HTML with print styles for one or two A4 pages
(docs/quick-reference.html); a test fails when either is stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Literal

from flows.contacts import ContactLine, Directory
from flows.schema import Condition, Content, OutcomeText

Style = Literal["para", "bullets", "note"]


@dataclass(frozen=True)
class Part:
    title: str | None
    lines: tuple[str, ...]
    style: Style = "bullets"


def _contact(c: ContactLine) -> str:
    detail = f" ({c.detail})" if c.detail else ""
    return f"{c.name}: **{c.phone}**{detail}" if c.phone else f"{c.name}{detail}"


def _who(c: Content, route: str) -> dict[str, str]:
    return {"who_now": c.texts.who_now.at(route), "who_now_adult": c.texts.who_now_adult.at(route)}


def _levels(c: Content, *, adult: bool) -> tuple[str, ...]:
    """Each level's advice, for a child or for an adult (the outcome's adult variant), with the
    out-of-hours lines; who answers now is named in general terms, as the time is not known."""
    lines: list[str] = []
    adult_cond = Condition.model_validate({"is": "adult"}) if "adult" in c.conditions else None
    for level in c.levels:
        outcome = c.outcomes[level]
        text: OutcomeText = outcome
        if adult:
            text = next((v for v in outcome.variants if v.when == adult_cond), outcome)
        say = [
            todo.render(c.timeframes, _who(c, "office")) for todo in text.do_now if todo.when not in _LATER
        ]
        lines.append(f"**{text.title}.** " + " ".join(say))
    away = c.texts.reference_away_adult if adult else c.texts.reference_away
    lines.append(f"*{c.texts.ooh_title}:* " + away.format_map(_who(c, "out_of_hours")))
    return tuple(lines)


# On paper each level gives what to do first; the written record and later steps are on every
# outcome in the check, and "Remember" says to write things down.
_LATER = frozenset({"today", "any_time", "for_records"})


def _blocks(c: Content) -> list[Part]:
    """The situation blocks; blocks with the same title (one situation for different ages) are
    printed once: the lines they share, then each one's own lines after its label."""
    out: list[Part] = []
    for title in dict.fromkeys(a.title for a in c.addenda):
        group = [a for a in c.addenda if a.title == title]
        said = [
            [*(todo.render(c.timeframes, _who(c, "office")) for todo in a.actions), *a.lines] for a in group
        ]
        common = [line for line in said[0] if all(line in s for s in said[1:])]
        lines = list(common)
        for add, own in zip(group, said, strict=True):
            rest = [line for line in own if line not in common]
            if rest:
                lines.append(f"**{add.label}:** " + " ".join(rest) if add.label else " ".join(rest))
        out.append(Part(title, tuple(lines)))
    return out


def parts(content: Content, directory: Directory) -> list[Part]:
    """The reference as neutral parts, most urgent first."""
    c, t = content, content.texts
    out = [Part(None, (f"**{t.emergency_title}:** " + " ".join(t.emergency_lines),), "para")]
    if directory.is_example:
        out.append(Part(None, (f"**{t.example_contacts}**",), "para"))
    # Whose contacts: the deploying organisation, from its own contacts file.
    title = f"{t.contacts_title}: {directory.organisation}" if directory.organisation else t.contacts_title
    out.append(Part(title, tuple(_contact(line) for line in directory.reference_lines())))
    out.append(Part(t.todo_title, _levels(c, adult=False), "para"))
    out.append(Part(t.adult_title, _levels(c, adult=True), "para"))
    out += _blocks(c)
    strong = "; ".join(i.label for i in c.indicators if i.strong)
    other = "; ".join(i.label for i in c.indicators if not i.strong)
    out.append(
        Part(
            t.indicators_title,
            (f"**{t.strong_title}:** {strong}.", f"**{t.other_title}:** {other}."),
        )
    )
    out.append(
        Part(
            t.vulnerabilities_title,
            (t.vulnerabilities_intro, "; ".join(f.label for f in c.factors) + "."),
            "para",
        )
    )
    out.append(Part(c.reminders.title, (*c.reminders.lines, f"**{c.summary.title}:** {c.summary.lead}")))
    m = c.meta
    out.append(
        Part(
            None,
            (
                f"*{c.disclaimer}*",
                f"Content {m.version}, reviewed {m.reviewed_on:%d %B %Y}, next review by "
                f"{m.review_due:%d %B %Y}; owner: {m.owner}. Rules and sources: docs/triage-rules.md.",
            ),
            "note",
        )
    )
    return out


def quick_reference(content: Content, directory: Directory) -> str:
    """The reference as Markdown."""
    out = [f"# {content.texts.welcome_title}: quick reference", ""]
    for part in parts(content, directory):
        if part.title:
            out += [f"## {part.title}", ""]
        if part.style == "bullets":
            out += [f"- {line}" for line in part.lines]
        else:
            for line in part.lines:
                out += [line, ""]
            out.pop()
        out.append("")
    out += [
        "Generated by `cse-triage reference` from the content and contacts files: edit those, not this.",
        "",
    ]
    return "\n".join(out)


_CSS = """
body { font: 10.5pt/1.35 system-ui, sans-serif; margin: 1.5em auto; max-width: 52em; padding: 0 1em; }
h1 { font-size: 15pt; margin: 0 0 .4em; } h2 { font-size: 11.5pt; margin: .8em 0 .2em; }
p, ul, ol { margin: .2em 0 .4em; } ul, ol { padding-left: 1.3em; }
.emergency { border: 2px solid #b00; padding: .3em .6em; font-size: 12pt; }
.note { color: #333; font-size: 9pt; }
@page { size: A4; margin: 10mm; }
@media print {
  body { margin: 0; max-width: none; font-size: 8pt; line-height: 1.25; column-count: 2; column-gap: 5mm; }
  h1, .emergency { column-span: all; } h2 { break-after: avoid; } li, p { break-inside: avoid; }
}
"""


def _inline(text: str) -> str:
    """Markdown's **bold** and *italic* (the only marks used here) as HTML, text escaped."""
    out, bold, italic, i = [], False, False, 0
    text = escape(text, quote=False)
    while i < len(text):
        if text.startswith("**", i):
            out.append("</strong>" if bold else "<strong>")
            bold, i = not bold, i + 2
        elif text[i] == "*":
            out.append("</em>" if italic else "<em>")
            italic, i = not italic, i + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def quick_reference_html(content: Content, directory: Directory) -> str:
    """The reference as one HTML page with print styles (A4, one or two pages)."""
    title = f"{content.texts.welcome_title}: quick reference"
    body: list[str] = [f"<h1>{escape(title)}</h1>"]
    for n, part in enumerate(parts(content, directory)):
        if part.title:
            body.append(f"<h2>{escape(part.title)}</h2>")
        if part.style == "bullets":
            body.append("<ul>" + "".join(f"<li>{_inline(x)}</li>" for x in part.lines) + "</ul>")
        else:
            cls = ' class="emergency"' if n == 0 else (' class="note"' if part.style == "note" else "")
            body += [f"<p{cls}>{_inline(x)}</p>" for x in part.lines]
    return (
        '<!doctype html>\n<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )
