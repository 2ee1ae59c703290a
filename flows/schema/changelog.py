"""The content's changelog: every version with its changes and who approved it; what stops a
version from going live (no entry, or a draft), and the checks on the changelog itself."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from flows.schema.fields import Strict, Text

if TYPE_CHECKING:
    from flows.schema.model import Content

# How the National Guidance for Child Protection in Scotland labels its changes (its "Changes
# to this version" table): a significant amendment (SA), new text (NT), a minor amendment (MA),
# a link update (U).
ChangeLabel = Literal["SA", "NT", "MA", "U"]


class Change(Strict):
    """One change in a content version: its label, what changed and why."""

    label: ChangeLabel
    what: Text
    reason: Text


class Release(Strict):
    """One content version in the changelog: its date, its changes, and who approved it.

    ``approved_by`` is a role (never a person's name); with no approval the version is a draft:
    previewed in the terminal or on the web page marked "not for use", refused by Telegram mode.
    """

    version: Text
    date: dt.date
    changes: list[Change] = Field(min_length=1)
    approved_by: Text | None = None
    approved_on: dt.date | None = None

    @model_validator(mode="after")
    def _approval(self) -> Release:
        if (self.approved_by is None) != (self.approved_on is None):
            raise ValueError("'approved_by' and 'approved_on' go together (neither: a draft)")
        return self

    @property
    def approved(self) -> bool:
        return self.approved_by is not None


ABOUT_FIELDS = ("version", "date", "role", "approved_on", "owner", "due", "reviewed")


def changelog_problems(c: Content) -> list[str]:
    """A version listed twice, approved before its date, or out of order; a placeholder the about
    page's lines about the version cannot fill in."""
    problems: list[str] = []
    seen: dict[str, int] = {}
    for r, rel in enumerate(c.changelog):
        if rel.version in seen:
            problems.append(
                f"changelog[{r}].version: '{rel.version}' listed twice (also changelog[{seen[rel.version]}])"
            )
        seen.setdefault(rel.version, r)
        if rel.approved_on is not None and rel.approved_on < rel.date:
            problems.append(f"changelog[{r}].approved_on: before the version's date")
    dates = [rel.date for rel in c.changelog]
    if dates != sorted(dates, reverse=True):
        problems.append("changelog: list the versions newest first")
    about = c.texts.about_page
    for name in ("version", "approved", "draft", "review", "owner"):
        try:
            getattr(about, name).format(**dict.fromkeys(ABOUT_FIELDS, ""))
        except (KeyError, IndexError, ValueError) as err:
            problems.append(
                f"texts.about_page.{name}: unknown placeholder {err} (use {', '.join(ABOUT_FIELDS)})"
            )
    return problems


def release_problems(c: Content) -> list[str]:
    """What stops this content version going live: no changelog entry, or one not approved."""
    release = c.release()
    if release is None:
        return [
            f"changelog: no entry for content version '{c.meta.version}' (meta.version). Add one at the "
            "top: version, date, changes (label SA, NT, MA or U; what; reason), approved_by (a role) "
            "and approved_on."
        ]
    if not release.approved:
        return [
            f"changelog: content version '{c.meta.version}' is a draft (no approved_by/approved_on): "
            "preview it with --draft; it cannot go live until it is approved."
        ]
    return []
