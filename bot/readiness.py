"""Is a contacts file fit to run on? The one check that start-up (Telegram, the web page),
``cse-triage validate`` and a reload (SIGHUP, ``cse-triage reload``) all make, so they name the
same problems in the same words: every problem at once, even when the file's structure is broken
(fixing one never reveals the next), with lines due a check as warnings.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import yaml

from flows.contacts import ContactsError, YamlDirectory, parse_directory
from flows.contacts.deployment import all_problems
from flows.schema import safe_yaml


@dataclass(frozen=True)
class CheckedContacts:
    """What the check found. ``problems``: one ``path: field: problem`` line each, [] when the file
    is fit for real use; ``warnings``: ``field: warning`` lines (due a check soon, still fit)."""

    directory: YamlDirectory | None  # the contacts when the file parses, fit for real use or not
    problems: list[str]
    warnings: list[str]

    @property
    def fit(self) -> bool:
        """Fit for real use: a channel may start, or a running one reload, on these contacts."""
        return self.directory is not None and not self.problems


def check_contacts(path: Path, now: dt.datetime | None = None) -> CheckedContacts:
    """The contacts file at ``path``, read once, against the file's own date at ``now`` (a naive
    time is the file's local time; default: the real time): a line checked too long ago, or an
    example file, placeholder or unreal number, is a problem."""
    source = str(path)
    try:
        data = safe_yaml(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        return CheckedContacts(None, [f"{source}: (file): cannot read: {err}"], [])
    directory: YamlDirectory | None = None
    today: dt.date | None = None  # a file that does not parse has no zone, and no date to check by
    try:
        directory = parse_directory(data, source)
    except ContactsError:
        pass
    else:
        today = directory.local(now or dt.datetime.now(dt.UTC)).date()
    problems, warnings = all_problems(data, source, today)
    return CheckedContacts(directory, [f"{source}: {p}" for p in problems], warnings)
