"""The commands for the committee that keeps the content and contacts files: `validate` (every
problem with both files, and the case library's results), `impact` (what a content change does
to every answer the rules can tell apart), and the documents generated from the files (`diagram`,
`reference`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot import wiring
from bot.config import Settings
from bot.readiness import check_contacts
from flows.contacts import EXAMPLE_CONTACTS, YamlDirectory
from flows.schema import Content, ContentError, load_content, release_problems


def cmd_validate(settings: Settings, args: argparse.Namespace) -> int:
    """Check the content and contacts files; print each problem; non-zero exit on any.

    The content version must have a changelog entry; with ``--draft`` an entry not yet approved
    is allowed (a reviewer checking a draft), otherwise it is a problem too."""
    problems: list[str] = []
    try:
        content = load_content(settings.content_file)
    except ContentError as err:
        problems += str(err).splitlines()
    else:
        release = release_problems(content)
        if args.draft and content.release() is not None:
            for line in release:
                print(f"{settings.content_file}: note: {line}")
        else:
            problems += [f"{settings.content_file}: {line}" for line in release]
    contacts = settings.contacts_file or EXAMPLE_CONTACTS
    # Every problem at once, even when the file's structure is broken; lines due a check are
    # warnings (exit 0) until they are too old.
    checked = check_contacts(Path(contacts), wiring.fixed_time(args.now))
    problems += checked.problems
    for line in checked.warnings:
        print(f"{contacts}: warning: {line}", file=sys.stderr)
    # The case library, over these contacts (when both files load).
    if "content" in locals() and checked.directory is not None:
        problems += _case_library(content, checked.directory, args.cases or _cases_file(settings))
    for line in problems:
        print(line, file=sys.stderr)
    if not problems:
        print(f"OK: {settings.content_file} and {contacts}")
    return 1 if problems else 0


def _case_library(content: Content, directory: YamlDirectory, path: Path) -> list[str]:
    """Run the case library (printing its coverage and disputed cases); its failures."""
    from flows.cases import CasesError, coverage, load_cases, run_library
    from flows.machine import Flow

    if not path.is_file():
        print(f"note: no case library at {path}: nothing tests this content's advice")
        return []
    try:
        cases = load_cases(path)
    except CasesError as err:
        return str(err).splitlines()
    runs = run_library(Flow(content, directory.services), directory, cases)
    failed = [f"{path}: case {r.case.id}: {p}" for r in runs for p in r.problems]
    passed = sum(1 for r in runs if not r.problems)
    print(f"Case library {path}: {passed} of {len(runs)} cases pass")
    for line in coverage(content, directory.services, runs).lines():
        print(f"  coverage: {line}")
    for case in cases:
        if case.disputed is not None:
            print(f"  disputed (not run): {case.id}: {case.disputed}")
    return failed


def content_at(spec: str, settings: Settings) -> tuple[Content, str]:
    """A content file given as a path, or as a git revision (``HEAD~1``, ``main``; or
    ``REV:path``) of CONTENT_FILE in this repository."""
    import subprocess

    from flows.schema import parse_content, safe_yaml

    if Path(spec).is_file():
        return load_content(spec), spec
    rev, sep, path = spec.partition(":")
    if not sep:
        git = ["git", "rev-parse", "--show-toplevel"]
        top = subprocess.run(git, capture_output=True, text=True, check=False).stdout.strip()  # noqa: S603, S607 - git from PATH, fixed arguments
        path = str(settings.content_file.resolve().relative_to(Path(top).resolve())) if top else ""
    # A list of arguments, never a shell: the revision cannot run anything.
    git = ["git", "show", f"{rev}:{path}"]
    shown = subprocess.run(git, capture_output=True, text=True, check=False)  # noqa: S603, S607 - as above
    if shown.returncode != 0:
        why = shown.stderr.strip()
        raise ContentError(spec, [f"(file): not a file, nor a git revision of {path}: {why}"])
    return parse_content(safe_yaml(shown.stdout), f"{rev}:{path}"), f"{rev}:{path}"


def cmd_impact(settings: Settings, args: argparse.Namespace) -> int:
    """What changing the content from OLD to NEW does to every answer the rules can tell apart,
    and to the case library: Markdown or HTML; exit 1 when a library case moves."""
    from flows.cases import CasesError, load_cases
    from flows.impact import ImpactError, compare, report

    old, old_name = content_at(args.old, settings)
    new, new_name = content_at(args.new, settings)
    directory = wiring.contacts(settings)
    cases_file = args.cases or _cases_file(settings)
    try:
        cases = load_cases(cases_file) if cases_file.is_file() else []
        impact = compare(old, new, directory, cases, budget=args.budget)
    except (CasesError, ImpactError) as err:
        print(f"cse-triage: {err}", file=sys.stderr)
        return 2
    text = report(impact, fmt=args.format, old_name=old_name, new_name=new_name)
    if args.out:
        _write(Path(args.out), text)
    else:
        print(text)
    return 1 if impact.moved_cases else 0


def _cases_file(settings: Settings) -> Path:
    """The case library kept with the content: ``cases.yaml`` beside the content file."""
    return settings.content_file.with_name("cases.yaml")


def _write(path: Path, text: str) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0


def cmd_diagram(settings: Settings, args: argparse.Namespace) -> int:
    """Write the flow, generated from the state machine, to flow.mmd in --out."""
    from flows.diagram import mermaid

    return _write(args.out / "flow.mmd", mermaid(wiring.flow(settings)))


def cmd_reference(settings: Settings, args: argparse.Namespace) -> int:
    """Write the printable quick reference, with the contacts file's numbers, to --out (.md, .html).

    Where the deployer says, the current folder by default: never over the repository's docs/,
    whose copies are generated from the shipped example files (`--out docs`) and checked by a test."""
    from flows.reference import quick_reference, quick_reference_html

    content, directory = wiring.content(settings), wiring.contacts(settings)
    _write(args.out / "quick-reference.md", quick_reference(content, directory))
    return _write(args.out / "quick-reference.html", quick_reference_html(content, directory))
