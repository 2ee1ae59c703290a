"""What a child protection committee needs to sign off and keep the advice current (issue 22):
a content changelog that `validate` enforces, "About this check" in every channel, and a draft
preview that says so on every screen, is never counted and is refused by Telegram mode."""

from __future__ import annotations

import os
import re
import secrets
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from bot.cli import main
from bot.service import CheckService
from bot.web.routes import create_app
from flows.schema import DEFAULT_CONTENT, Content, ContentError, parse_content, release_problems
from flows.screens import LOOKUPS
from testkit.deploy import filled_contacts
from testkit.memory_store import MemoryStore
from tests.web.test_web import make_service

ROOT = Path(__file__).resolve().parents[2]
DRAFT = "DRAFT – not for use"


def shipped() -> dict[str, Any]:
    return dict(yaml.safe_load(DEFAULT_CONTENT.read_text(encoding="utf-8")))


def draft_file(folder: Path, *, approved: bool = False, entry: bool = True) -> Path:
    """The shipped content as a new version 9.9.0: with a draft entry, an approved one, or none."""
    data = shipped()
    data["meta"]["version"] = "9.9.0"
    if entry:
        release: dict[str, Any] = {
            "version": "9.9.0",
            "date": "2027-01-10",
            "changes": [{"label": "MA", "what": "A reworded line.", "reason": "Practitioner feedback."}],
        }
        if approved:
            release |= {"approved_by": "Chair of the child protection committee", "approved_on": "2027-01-12"}
        data["changelog"] = [release, *data["changelog"]]
    path = folder / "draft.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


# -- the content changelog ------------------------------------------------------------------------
def test_the_shipped_version_has_an_approved_changelog_entry(content: Content) -> None:
    release = content.release()
    assert release is not None and release.approved, release_problems(content)
    assert not content.is_draft
    labels = {ch.label for rel in content.changelog for ch in rel.changes}
    assert labels <= {"SA", "NT", "MA", "U"}


def test_a_broken_changelog_is_refused_at_load() -> None:
    data = shipped()
    data["changelog"] = [data["changelog"][0], data["changelog"][0]]
    with pytest.raises(ContentError, match="listed twice"):
        parse_content(data)
    data = shipped()
    data["changelog"][0] = {**data["changelog"][0], "approved_on": None}
    with pytest.raises(ContentError, match="'approved_by' and 'approved_on' go together"):
        parse_content(data)
    data = shipped()
    data["changelog"].reverse()
    with pytest.raises(ContentError, match="newest first"):
        parse_content(data)
    data = shipped()
    data["changelog"][0]["changes"][0]["label"] = "BIG"
    with pytest.raises(ContentError, match=r"changelog\[0\]\.changes\[0\]\.label"):
        parse_content(data)


def test_validate_refuses_a_version_with_no_entry_and_a_draft_unless_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    contacts = str(filled_contacts(tmp_path))
    assert main(["validate", "--contacts", contacts]) == 0, capsys.readouterr().err
    capsys.readouterr()

    no_entry = str(draft_file(tmp_path, entry=False))
    assert main(["validate", "--content", no_entry, "--contacts", contacts]) == 1
    assert "no entry for content version '9.9.0'" in capsys.readouterr().err
    # --draft does not excuse a missing entry: every version is written down before review.
    assert main(["validate", "--draft", "--content", no_entry, "--contacts", contacts]) == 1
    capsys.readouterr()

    draft = str(draft_file(tmp_path))
    assert main(["validate", "--content", draft, "--contacts", contacts]) == 1
    assert "'9.9.0' is a draft" in capsys.readouterr().err
    assert main(["validate", "--draft", "--content", draft, "--contacts", contacts]) == 0
    assert "note:" in capsys.readouterr().out

    approved = str(draft_file(tmp_path, approved=True))
    assert main(["validate", "--content", approved, "--contacts", contacts]) == 0


# -- About this check ------------------------------------------------------------------------------
def about_facts(content: Content) -> list[str]:
    """What a reviewer looks for first on the About page."""
    release = content.release()
    assert release is not None and release.approved_by is not None
    return [
        f"Content version {content.meta.version}",
        release.approved_by,
        f"{content.meta.review_due:%d %B %Y}",
        content.meta.owner,
        "not a risk assessment tool",
        "designated person",
        "Right Decision Service",
        "not a medical device",
        "Report a problem with this advice",
        "National Guidance for Child Protection in Scotland",
    ]


def web_service(content: Content, *, draft: bool = False, store: MemoryStore | None = None) -> CheckService:
    return make_service(content, store, draft=draft)


def client(service: CheckService) -> TestClient:
    return TestClient(create_app(service, secret=b"committee-tests-" + b"q8Zr3Kx7Lm2Wv9Tb", ttl_hours=24))


def test_about_on_the_web_names_purpose_limits_owner_approval_review_reporting_and_sources(
    content: Content,
) -> None:
    with client(web_service(content)) as web:
        page = web.get("/look/about").text.replace("&#39;", "'")
    for fact in about_facts(content):
        assert fact.replace("&", "&amp;") in page, fact
    assert DRAFT not in page


def test_about_for_a_draft_says_it_is_not_approved(tmp_path: Path) -> None:
    from flows.schema import load_content

    draft = load_content(draft_file(tmp_path))
    with client(web_service(draft)) as web:
        page = web.get("/look/about").text
    assert "Not approved: this is a draft" in page and "Content version 9.9.0" in page
    assert "A reworded line." in page, "what changed in this version"


# -- draft preview ---------------------------------------------------------------------------------
def test_a_web_draft_preview_says_draft_on_every_page_and_is_never_counted(content: Content) -> None:
    store = MemoryStore()
    service = web_service(content, draft=True, store=store)
    assert not service.counting
    with client(service) as web:
        pages = [web.get("/").text, *(web.get(f"/look/{name}").text for name in LOOKUPS)]
        welcome = pages[0]
        csrf = welcome.split('name="csrf" value="')[1].split('"')[0]
        pages.append(web.post("/start", data={"csrf": csrf, "action": "start"}).text)
        for action in ("a:yes", "a:skip"):
            page = pages[-1]
            token = page.split('name="token" value="')[1].split('"')[0]
            csrf = page.split('name="csrf" value="')[1].split('"')[0]
            pages.append(web.post("/act", data={"csrf": csrf, "token": token, "action": action}).text)
        assert "level-emergency" in pages[-1]
    missing = [i for i, page in enumerate(pages) if DRAFT not in page]
    assert not missing, f"pages without the draft banner: {missing}"
    assert not store.outcomes, "a draft preview is never counted"


def run_cli(*args: str, cwd: Path, keys: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k not in ("TELEGRAM_BOT_TOKEN", "CONTACTS_FILE")}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=keys,
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**full, "PYTHONPATH": str(ROOT), **env},
        timeout=60,
        check=False,
    )


@pytest.mark.slow
def test_a_terminal_draft_preview_says_draft_on_every_screen_and_stats_never_count_it(
    tmp_path: Path,
) -> None:
    db = tmp_path / "bot.sqlite3"
    draft = str(draft_file(tmp_path))
    # About, then start, in danger, "show what to do now": four screens and the outcome.
    proc = run_cli(
        "console", "--content", draft, cwd=tmp_path, keys="a\n1\n1\n2\n", DATABASE_URL=f"sqlite:///{db}"
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Emergency: call 999 now" in out
    assert out.count(DRAFT) >= 5, "on start, then the welcome, about, danger, notice and outcome"
    assert "Not approved: this is a draft" in out
    assert out.rstrip().endswith("Nothing from this session was kept.")
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM outcome_count").fetchone()[0] == 0
    stats = run_cli("stats", cwd=tmp_path, DATABASE_URL=f"sqlite:///{db}")
    assert "No checks counted" in stats.stdout, stats.stdout + stats.stderr


@pytest.mark.slow
def test_telegram_mode_refuses_a_draft_content_file(tmp_path: Path) -> None:
    proc = run_cli(
        "telegram",
        cwd=tmp_path,
        TELEGRAM_BOT_TOKEN="123456789:" + "B" * 35,
        TELEGRAM_API_BASE_URL="http://127.0.0.1:9",
        CHAT_KEY_SECRET=secrets.token_urlsafe(32),
        CONTACTS_FILE=str(filled_contacts(tmp_path)),
        CONTENT_FILE=str(draft_file(tmp_path)),
    )
    assert proc.returncode == 2
    assert "CONTENT_FILE" in proc.stderr and "'9.9.0' is a draft" in proc.stderr


# -- sources anyone can open -----------------------------------------------------------------------
def shipped_texts() -> dict[str, str]:
    """The product's content and the docs a reviewer reads (generated pictures aside)."""
    paths = [
        *ROOT.glob("docs/*.md"),
        *ROOT.glob("flows/content/*.yaml"),
        ROOT / "README.md",
        ROOT / "CHANGELOG.md",
    ]
    paths += [*ROOT.glob("deploy/*.md"), ROOT / "flows" / "contacts" / "model.py"]
    return {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in paths if p.is_file()}


def test_no_source_is_a_file_or_issue_a_reader_cannot_open() -> None:
    hidden = re.compile(r"domain-facts|domain facts|shared/reference|\bissue #?11\b", re.IGNORECASE)
    found = {name: hidden.findall(text) for name, text in shipped_texts().items()}
    assert {k: v for k, v in found.items() if v} == {}


def test_a_reviewer_finds_the_licence_the_owners_and_an_accessibility_statement() -> None:
    licence = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert licence.startswith("MIT License")
    assert 'license = "MIT"' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    governance = (ROOT / "docs" / "governance.md").read_text(encoding="utf-8")
    assert "Software maintainers" in governance and "Content owner" in governance
    accessibility = (ROOT / "docs" / "accessibility.md").read_text(encoding="utf-8")
    assert "WCAG 2.2" in accessibility and "Reporting a problem" in accessibility
