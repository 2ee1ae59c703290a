"""Neutral screens: what the practitioner sees, independent of Telegram, the terminal or the web.

:class:`Screens` builds every screen of the product (:mod:`flows.screen`: what one screen is, and
the action codes its buttons carry) from the content, the flow and the time. Adapters only turn a
screen into their own medium, so every channel shows the same check with no logic of its own.
"""

from __future__ import annotations

from collections.abc import Sequence

from flows.contacts import ContactLine
from flows.machine import CANCELLED, OUTCOME, WELCOME, Conversation, Flow
from flows.rules import Result, advice, evaluate, ticked
from flows.schema import Content
from flows.screen import (  # re-exported: the names every adapter uses
    LOOKUPS,
    Action,
    Button,
    Channel,
    Context,
    Screen,
    Section,
    Style,
    parse_action,
)

__all__ = [
    "LOOKUPS",
    "Action",
    "Button",
    "Channel",
    "Context",
    "Screen",
    "Screens",
    "Section",
    "Style",
    "parse_action",
]


class Screens:
    """Builds every screen of the product from the content and the flow."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.content: Content = flow.content
        self.t = flow.content.texts

    # -- shared pieces ---------------------------------------------------------------------
    def _nav(self, conv: Conversation) -> tuple[Button, ...]:
        row = [Button("back", self.content.multi_controls.back)] if conv.history else []
        return (*row, Button("look:emergency", self.t.emergency_button))

    def _contacts(self, roles: Sequence[str], ctx: Context) -> Section:
        route = ctx.directory.route(ctx.now)
        if not ctx.directory.designated_now(ctx.service, ctx.now):
            # Whoever can be reached now comes first; a designated person outside their hours
            # (shown "when next available" by the directory) comes last.
            roles = [r for r in roles if r != "designated_person"] + [
                r for r in roles if r == "designated_person"
            ]
        lines: list[ContactLine] = []
        for role in roles:
            for line in ctx.directory.resolve(role, service=ctx.service, now=ctx.now):
                if line not in lines:
                    lines.append(line)
        return Section((route.basis,), self.t.contacts_title, "contacts", tuple(lines))

    def _banner(self, ctx: Context) -> tuple[Section, ...]:
        """Notes on top of every screen: a draft preview, example contacts."""
        draft = (Section((self.t.draft_banner,), style="note"),) if ctx.draft else ()
        example = (Section((self.t.example_contacts,), style="note"),) if ctx.directory.is_example else ()
        return (*draft, *example)

    # -- the check ---------------------------------------------------------------------------
    def for_conversation(self, conv: Conversation, ctx: Context) -> Screen:
        """The screen for where the conversation is now."""
        if conv.state == WELCOME:
            return self.welcome(ctx)
        if conv.state == OUTCOME:
            return self.outcome(conv, ctx)
        if conv.state == CANCELLED:
            return self.cancelled(ctx)
        step = self.flow.step(conv.state)
        text = Section((step.text,))
        if step.kind == "multi":
            mc = self.content.multi_controls
            asked = self.flow.items(step, conv)
            ticks = set(conv.picked.get(step.id, [])) & set(asked)
            rows: list[tuple[Button, ...]] = [
                (
                    Button(
                        f"t:{i}",
                        f"{mc.picked_mark} {self.content.item(i).label}"
                        if i in ticks
                        else self.content.item(i).label,
                    ),
                )
                for i in asked
            ]
            # "None of these" only while nothing is ticked: on a phone it reads as "none of the
            # others", so it is never offered where it could seem to clear a tick.
            closers = (Button("a:unsure", mc.unsure),)
            rows.append(closers if ticks else (Button("a:none", mc.none), *closers))
            rows.append((Button("done", mc.done),))
            help_lines = tuple(f"{self.content.item(i).label}: {self.content.item(i).help}" for i in asked)
            sections: tuple[Section, ...] = (text, Section(help_lines, style="bullets"))
        else:
            rows = [(Button(f"a:{code}", label),) for code, label in self.flow.options(step)]
            sections = (text,)
        rows.append(self._nav(conv))
        return Screen(step.id, step.title, (*self._banner(ctx), *sections), tuple(rows))

    def welcome(self, ctx: Context) -> Screen:
        return Screen(
            WELCOME,
            self.t.welcome_title,
            (*self._banner(ctx), Section(tuple(self.t.welcome))),
            ((Button("start", self.t.start_button),), (Button("look:emergency", self.t.emergency_button),)),
        )

    def cancelled(self, ctx: Context) -> Screen:
        return Screen(
            CANCELLED,
            self.t.cancelled_title,
            (
                *self._banner(ctx),
                Section((self.t.cancelled,)),
                Section(tuple(self.t.emergency_lines), self.t.emergency_title, "bullets"),
                self._contacts(["police_999", "designated_person", "social_work"], ctx),
            ),
            ((Button("restart", self.t.new_check_button),),),
            final=True,
        )

    def outcome(self, conv: Conversation, ctx: Context) -> Screen:
        """The guidance at the end of a check: what to do, whom to call, and a summary."""
        result = evaluate(self.content, conv)
        out = result.text
        route = ctx.directory.route(ctx.now)
        roles: list[str] = list(out.contacts)
        sections: list[Section] = [*self._banner(ctx), Section((out.summary,))]
        todo = self.t.todo_title if route.in_hours else f"{self.t.todo_title} ({self.t.ooh_title.lower()})"
        sections.append(Section(self.todo_lines(result, ctx), todo, "numbered"))
        for add in result.addenda:
            roles += [r for r in add.contacts if r not in roles]
        sections.append(self._contacts(roles, ctx))
        for add in result.addenda:
            if add.lines:
                sections.append(Section(tuple(add.lines), add.title, "bullets"))
        sections.append(Section(result.reasons, self.t.why_title, "bullets"))
        sections.append(Section((out.next_tool,), self.t.next_tool_title))
        sections.append(Section(tuple(self.content.reminders.lines), self.content.reminders.title, "bullets"))
        sections.append(self._summary(conv, out.title))
        sections.append(Section((self.content.disclaimer,), style="note"))
        return Screen(
            OUTCOME,
            out.title,
            tuple(sections),
            (
                (Button("restart", self.t.new_check_button),),
                (Button("clear", self.t.clear_button), Button("look:emergency", self.t.emergency_button)),
                (Button(f"fb:{self.feedback_code(result)}", self.t.feedback_button),),
            ),
            final=True,
            level=result.level,
        )

    def todo_lines(self, result: Result, ctx: Context) -> tuple[str, ...]:
        """ "What to do now" for a result at ``ctx``'s time, in time order, each line with its time
        frame, and who answers now filled in (the office, the out-of-hours team, or the police in
        a gap in cover)."""
        route = ctx.directory.route(ctx.now)
        key = "gap" if route.gap else "office" if route.in_hours else "out_of_hours"
        fill = {"who_now": self.t.who_now.at(key), "who_now_adult": self.t.who_now_adult.at(key)}
        reachable = ctx.directory.designated_now(ctx.service, ctx.now)
        todos = advice(self.content, result, designated_now=reachable)
        return tuple(dict.fromkeys(t.render(self.content.timeframes, fill) for t in todos))

    def feedback_code(self, result: Result) -> str:
        """The outcome as "Report a problem" counts it: level index and a bit mask of the
        situation blocks shown (content order), e.g. ``1_5``. Codes only, nothing typed."""
        blocks = {a.id for a in result.addenda}
        mask = sum(1 << i for i, a in enumerate(self.content.addenda) if a.id in blocks)
        return f"{self.content.levels.index(result.level)}_{mask:x}"

    def parse_feedback(self, code: str) -> tuple[str, int] | None:
        """(level, blocks mask) from :meth:`feedback_code`'s output, or None if it is not one."""
        index, _, mask = code.partition("_")
        try:
            level, blocks = self.content.levels[int(index)], int(mask, 16)
        except (ValueError, IndexError):
            return None
        return (level, blocks) if 0 <= blocks < 1 << len(self.content.addenda) and index.isdigit() else None

    def feedback_thanks(self, ctx: Context) -> Screen:
        """After "Report a problem with this advice": thanks, and whom to tell more."""
        owner = ctx.directory.content_owner or ContactLine(self.content.meta.owner)
        sections = (
            *self._banner(ctx),
            Section((self.t.feedback_thanks,)),
            Section((), None, "contacts", (owner,)),
        )
        return Screen(
            "feedback", self.t.feedback_title, sections, ((Button("start", self.t.new_check_button),),)
        )

    def _summary(self, conv: Conversation, level_title: str) -> Section:
        """An anonymous summary to read out on the phone: codes turned into labels, nothing else.

        Item labels hold commas ("Going missing, home or school"), so items are separated by the
        content's separator ("; "); "not sure" lists the items of the steps concerned, not titles.
        """
        w = self.content.summary
        items = ticked(self.content, conv)
        age_step = next((s for s in self.flow.steps if s.id == "age"), None)
        age = dict(self.flow.options(age_step)).get(conv.answers.get("age", ""), "-") if age_step else "-"
        indicators = [self.content.item(i).label for i in items if i in self.content.indicator_ids]
        factors = [self.content.item(i).label for i in items if i in self.content.factor_ids]
        unsure = [
            self.content.item(i).label
            for s in self.flow.steps
            if s.id in conv.unsure
            for i in self.flow.items(s, conv)
            if i not in items
        ]
        sep = w.separator
        lines = [
            w.lead,
            f"{w.age_label}: {age}",
            f"{w.level_label}: {level_title}",
            f"{w.indicators_label}: {sep.join(indicators) or w.nothing}",
            f"{w.factors_label}: {sep.join(factors) or w.nothing}",
        ]
        if unsure:
            lines.append(f"{w.unsure_label}: {sep.join(unsure)}")
        return Section(tuple(lines), w.title, "bullets")

    # -- lookups -----------------------------------------------------------------------------
    def lookup(self, name: str, ctx: Context, *, in_check: bool = False) -> Screen:
        """A reference screen; ``in_check`` adds a button back to the check in progress."""
        c, t = self.content, self.t
        sections: tuple[Section, ...]
        if name == "emergency":
            title = t.emergency_title
            sections = (
                Section(tuple(t.emergency_lines), style="bullets"),
                self._contacts(["police_999", "designated_person", "social_work", "childline"], ctx),
            )
        elif name == "indicators":
            title = t.indicators_title
            strong = tuple(f"{i.label}: {i.help}" for i in c.indicators if i.strong)
            other = tuple(f"{i.label}: {i.help}" for i in c.indicators if not i.strong)
            sections = (
                Section((t.indicators_intro,)),
                Section(strong, t.strong_title, "bullets"),
                Section(other, t.other_title, "bullets"),
            )
        elif name == "vulnerabilities":
            title = t.vulnerabilities_title
            lines = tuple(
                f"{f.label}: {t.vulnerabilities_asked_as}" if f.asked_as else f"{f.label}: {f.help}"
                for f in c.factors
            )
            sections = (Section((t.vulnerabilities_intro,)), Section(lines, style="bullets"))
        elif name == "online":
            title = c.lookups.online.title
            sections = (
                Section(tuple(c.lookups.online.lines), style="bullets"),
                self._contacts(["ceop", "police_999"], ctx),
            )
        elif name == "whatis":
            w = c.lookups.whatis
            title = w.title
            sections = (
                Section(tuple(w.lines)),
                Section(tuple(w.forms), style="bullets"),
                Section(tuple(c.lookups.response.lines), c.lookups.response.title, "bullets"),
                Section(tuple(c.lookups.tools.lines), c.lookups.tools.title, "bullets"),
            )
        elif name == "contacts":
            title = t.contacts_title
            roles = [
                "police_999",
                "designated_person",
                "social_work",
                "police_101",
                "nspcc",
                "childline",
                "ceop",
                "stop_it_now",
            ]
            sections = (self._contacts(roles, ctx),)
        elif name == "privacy":
            extra = {"telegram": t.privacy_telegram, "web": t.web.privacy}.get(ctx.channel, [])
            lines = (*t.privacy, *extra)
            title, sections = t.privacy_title, (Section(tuple(lines), style="bullets"),)
        elif name == "about":
            title, sections = t.about_title, self._about(ctx)
        elif name == "help":
            title, sections = t.help_title, (Section(tuple(t.help), style="bullets"),)
        else:
            raise KeyError(name)
        rows: list[tuple[Button, ...]] = []
        if in_check:
            rows.append((Button("resume", t.continue_button),))
        else:
            rows.append((Button("start", t.start_button),))
        if name != "emergency":
            rows.append((Button("look:emergency", t.emergency_button),))
        return Screen(f"look:{name}", title, (*self._banner(ctx), *sections), tuple(rows))

    def _about(self, ctx: Context) -> tuple[Section, ...]:
        """ "About this check": purpose, audience, what it is not, who owns and approved this
        version, when it is reviewed, how to report a problem, what changed, and the sources."""
        c, a = self.content, self.t.about_page
        m, release = c.meta, c.release()
        fields = {
            "version": m.version,
            "date": f"{(release.date if release else m.reviewed_on):%d %B %Y}",
            "role": (release.approved_by if release else None) or "",
            "approved_on": f"{release.approved_on:%d %B %Y}" if release and release.approved_on else "",
            "owner": m.owner,
            "due": f"{m.review_due:%d %B %Y}",
            "reviewed": f"{m.reviewed_on:%d %B %Y}",
        }
        approval = a.approved if release is not None and release.approved else a.draft
        facts = tuple(line.format(**fields) for line in (a.version, approval, a.owner, a.review))
        owner = ctx.directory.content_owner or ContactLine(m.owner)
        changes = tuple(
            f"{ch.label}: {ch.what} Why: {ch.reason}" for ch in (release.changes if release else [])
        )
        return (
            Section(tuple(self.t.about)),
            Section(tuple(a.audience), a.audience_title, "bullets"),
            Section(tuple(a.not_lines), a.not_title, "bullets"),
            Section(tuple(a.device), a.device_title),
            Section(facts, a.owner_title, "bullets"),
            *((Section(changes, a.changes_title, "bullets"),) if changes else ()),
            Section(tuple(a.report), a.report_title),
            Section((), None, "contacts", (owner,)),
            Section(tuple(f"{s.title}: {s.url}" for s in m.sources), a.sources_title, "bullets"),
            Section((c.disclaimer,), style="note"),
        )

    def notice(self, text: str, ctx: Context, *, with_contacts: bool = False) -> Screen:
        """A short message; with contacts, it is the safety net shown whenever something fails."""
        sections: list[Section] = [*self._banner(ctx), Section((text,))]
        if with_contacts:
            sections.append(Section(tuple(self.t.emergency_lines), self.t.emergency_title, "bullets"))
            sections.append(self._contacts(["police_999", "designated_person", "social_work"], ctx))
        return Screen("notice", "", tuple(sections), ((Button("start", self.t.new_check_button),),))
