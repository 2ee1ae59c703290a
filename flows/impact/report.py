"""The impact as a report: Markdown, or a standalone HTML page."""

from __future__ import annotations

import html
from collections import Counter
from typing import Any

from flows.impact.compare import Change, Impact

REPRESENTATIVES = 3


def report(impact: Impact, *, fmt: str = "md", old_name: str = "OLD", new_name: str = "NEW") -> str:
    """The impact as Markdown (``md``) or a standalone HTML page (``html``)."""
    blocks = _blocks(impact, old_name, new_name)
    return _markdown(blocks) if fmt == "md" else _html(blocks, f"Impact: {old_name} -> {new_name}")


Block = tuple[str, Any]


def _blocks(impact: Impact, old_name: str, new_name: str) -> list[Block]:
    o, n = impact.old.meta, impact.new.meta
    when = ", ".join(f"{p.replace('_', ' ')} {t:%a %H:%M}" for p, t in impact.when.items() if t is not None)
    kinds = Counter(w for c in impact.changes for w in c.what)
    out: list[Block] = [
        ("h1", f"Impact of the content change {old_name} -> {new_name}"),
        (
            "p",
            f"Content version {o.version} -> {n.version}. Every answer the rules tell apart was compared: "
            f"{impact.classes} classes of answers, each at {when} (contacts file moments).",
        ),
        (
            "p",
            f"{len(impact.changes)} classes change. Level {kinds['level']}, "
            f"first step {kinds['first step']}, contacts {kinds['contacts']}.",
        ),
    ]
    if impact.changes:
        out.append(("h2", "Level, old -> new (classes of answers)"))
        out.append(
            (
                "table",
                (
                    ["old", "new", "classes"],
                    [[a, b, str(k)] for (a, b), k in sorted(impact.by_level.items())],
                ),
            )
        )
        out.append(("h2", "By rule (classes whose old or new level a rule decided)"))
        out.append(("table", (["rule", "classes"], [[r, str(k)] for r, k in sorted(impact.by_rule.items())])))
        out.append(("h2", "Representative answers"))
        groups: dict[tuple[str, str, tuple[str, ...]], list[Change]] = {}
        for c in impact.changes:
            groups.setdefault((c.old.level, c.new.level, c.what), []).append(c)
        for (a, b, what), changes in sorted(groups.items()):
            out.append(("h3", f"{a} -> {b}: {', '.join(what)} ({len(changes)} classes)"))
            items = []
            for c in changes[:REPRESENTATIVES]:
                line = c.answer.describe()
                if "first step" in what:
                    line += " | first step: " + "; ".join(
                        f"{p}: '{x}' -> '{y}'"
                        for (p, x), (_, y) in zip(c.old.first, c.new.first, strict=False)
                        if x != y
                    )
                if "contacts" in what:
                    line += " | contacts: " + "; ".join(
                        f"{p}: {', '.join(x)} -> {', '.join(y)}"
                        for (p, x), (_, y) in zip(c.old.roles, c.new.roles, strict=False)
                        if x != y
                    )
                items.append(line)
            out.append(("ul", items))
    out.append(("h2", "Case library"))
    if impact.moved_cases:
        out.append(("p", f"{len(impact.moved_cases)} library cases move (update each, with its reason):"))
        out.append(
            ("ul", [f"{case.id}: {case.situation} — {'; '.join(d)}" for case, d in impact.moved_cases])
        )
    else:
        out.append(("p", "No library case moves."))
    if impact.failing_cases:
        out.append(("p", f"{len(impact.failing_cases)} cases fail on the new content:"))
        out.append(("ul", [f"{r.case.id}: {'; '.join(r.problems)}" for r in impact.failing_cases]))
    if impact.disputed:
        out.append(("p", "Disputed cases (not run; for the content owner to judge):"))
        out.append(("ul", [f"{c.id}: {c.disputed}" for c in impact.disputed]))
    if impact.coverage_lines:
        out.append(("h2", "Coverage of the new content by the case library"))
        out.append(("ul", impact.coverage_lines))
    return out


def _markdown(blocks: list[Block]) -> str:
    lines: list[str] = []
    for tag, body in blocks:
        if tag in ("h1", "h2", "h3"):
            lines += ["#" * int(tag[1]) + " " + body, ""]
        elif tag == "p":
            lines += [body, ""]
        elif tag == "ul":
            lines += [f"- {x}" for x in body] + [""]
        elif tag == "table":
            head, rows = body
            lines.append("| " + " | ".join(head) + " |")
            lines.append("|" + "---|" * len(head))
            lines += ["| " + " | ".join(r) + " |" for r in rows]
            lines.append("")
    return "\n".join(lines)


def _html(blocks: list[Block], title: str) -> str:
    e = html.escape
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:60rem;margin:1rem auto;line-height:1.4}"
        "table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2rem .5rem}</style>",
        "</head><body>",
    ]
    for tag, body in blocks:
        if tag in ("h1", "h2", "h3", "p"):
            parts.append(f"<{tag}>{e(body)}</{tag}>")
        elif tag == "ul":
            parts.append("<ul>" + "".join(f"<li>{e(x)}</li>" for x in body) + "</ul>")
        elif tag == "table":
            head, rows = body
            parts.append(
                "<table><thead><tr>"
                + "".join(f'<th scope="col">{e(h)}</th>' for h in head)
                + "</tr></thead><tbody>"
                + "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in rows)
                + "</tbody></table>"
            )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
