"""Running it for real: a backup taken mid-use restores with the open check intact, and a database
made by the first released schema upgrades to the current one and keeps its open checks."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot import wiring
from bot.service import CheckService
from flows.contacts import EXAMPLE_CONTACTS, load_directory
from flows.machine import Flow
from flows.schema import load_content
from storage.base import chat_key
from storage.sql.backup import BackupError, backup
from storage.sql.schema import migrate
from testkit.checked_store import ContentCheckedStore

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 12, 2, 10, 0)
KEY = chat_key(b"k" * 32, 1, 42)


def service_on(url: str) -> CheckService:
    directory = load_directory(EXAMPLE_CONTACTS)
    flow = Flow(load_content(), directory.services)
    store = ContentCheckedStore(url=url, ttl=dt.timedelta(hours=24), validate=flow.load)
    return wiring.check_service(flow=flow, store=store, directory=directory, clock=lambda: NOW)


async def test_a_backup_taken_mid_use_restores_with_the_open_check(tmp_path: Path) -> None:
    live = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    migrate(live)
    svc = service_on(live)
    reply = await svc.start(key=KEY, update_id=None)
    for action in ("a:no", "a:13_15", "a:education", "t:controlling_adult"):
        assert reply.token is not None
        reply = await svc.press(key=KEY, update_id=None, action=action, token=reply.token)
    copy = tmp_path / "backups" / "cse-triage-backup.sqlite3"
    # Taken while the store is open and in use; a second backup to the same name is refused.
    assert "backed up" in backup(live, copy)
    with pytest.raises(BackupError, match="already exists"):
        backup(live, copy)
    # The live check goes on and finishes; the backup still holds it open, one step in.
    for action in ("done",) * 6:
        assert reply.token is not None
        reply = await svc.press(key=KEY, update_id=None, action=action, token=reply.token)
    assert reply.screen.level == "urgent"
    await svc.store.close()

    restored = service_on(f"sqlite:///{copy}")
    resumed = await restored.current(key=KEY, update_id=None)
    assert resumed is not None and resumed.screen.key == "signs_1"
    labels = [b.label for row in resumed.screen.buttons for b in row]
    assert "✅ Controlling adult in their life" in labels
    await restored.store.close()


def test_backup_command_for_postgresql_prints_pg_dump_without_the_password(tmp_path: Path) -> None:
    line = backup("postgresql://bot:s3cret@db.internal:5433/cse", tmp_path / "cse.dump")
    assert line.startswith("pg_dump ") and "--dbname=cse" in line and "--port=5433" in line
    assert "s3cret" not in line


@pytest.mark.slow
def test_backup_command_line(tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{db}", "HOME": str(tmp_path)}
    migrate(f"sqlite:///{db}")
    out = subprocess.run(
        [sys.executable, "-m", "bot", "backup", str(tmp_path / "b.sqlite3")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    with sqlite3.connect(tmp_path / "b.sqlite3") as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"conversation", "outcome_count", "alembic_version"} <= tables


async def test_a_database_from_the_first_schema_upgrades_and_keeps_open_checks(tmp_path: Path) -> None:
    """The upgrade path: stop, back up, install the new lock, start (Alembic migrates)."""
    from alembic import command

    from storage.sql.engine import make_engine
    from storage.sql.schema import _alembic_config

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = make_engine(url)
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "0001")
    engine.dispose()
    # An open check as the first release wrote it: at signs_1 with assault ticked.
    data = {
        "state": "signs_1",
        "answers": {"danger": "no", "age": "13_15", "service": "education"},
        "picked": {"signs_1": ["assault"]},
        "unsure": [],
        "history": ["danger", "age", "service"],
        "level": None,
    }
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=12)).replace(tzinfo=None)
    with sqlite3.connect(tmp_path / "old.sqlite3") as conn:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(conversation)")]
        row = {
            "key": KEY,
            "check_id": "abcdefgh",
            "version": 4,
            "state": "signs_1",
            "data": json.dumps(data),
            "anchor_message_id": None,
            "content_version": "2.0.0",
            "expires_at": later,
            "updated_at": later,
        }
        row = {k: v for k, v in row.items() if k in columns}
        conn.execute(
            f"INSERT INTO conversation ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            list(row.values()),
        )
    migrate(url)  # what start-up does
    svc = service_on(url)
    resumed = await svc.current(key=KEY, update_id=None)
    assert resumed is not None and resumed.screen.key == "signs_1"
    assert "✅ Assault, seen or suspected" in [b.label for row in resumed.screen.buttons for b in row]
    await svc.store.close()


def test_retention_figures_agree_across_settings_privacy_and_the_data_protection_pack() -> None:
    from bot.config import Settings
    from storage.sql.store import UPDATE_ID_RETENTION

    ttl = Settings.model_fields["session_ttl_hours"].default
    ids = int(UPDATE_ID_RETENTION.total_seconds() // 3600)
    doc = (ROOT / "docs" / "data-protection.md").read_text(encoding="utf-8")
    assert f"**{ttl} hours**" in doc and f"**{ids} hours**" in doc
    in_words = {24: "a day", 48: "two days"}
    privacy = " ".join(load_content().texts.privacy)
    assert f"after {in_words[ttl]} of no use" in privacy
    # The web page's cookie lasts as long as the check it links (SESSION_TTL_HOURS).
    assert f"expires after {in_words[ttl]}" in " ".join(load_content().texts.web.privacy)
    assert "the session cookie" in doc and f"Max-Age {ttl} hours" in doc
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"(default {ttl})" in readme and f"update ids ({ids} hours" in readme
