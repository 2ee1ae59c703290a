"""The terminal check, driven as a person would: piped keystrokes in, screens out."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import secrets
import select
import signal
import sqlite3
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow  # every test here starts the bot as a process


def run(keys: str, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TELEGRAM_BOT_TOKEN",)}
    env.update(extra_env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=keys,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )


def test_piped_session_reaches_an_urgent_outcome() -> None:
    # Start, not in danger, 13 to 15, Education, tick a controlling adult (4), then Done on each
    # step: its number is after the items the step asks at this age, "None of these" and "Not
    # sure" (8th on five-item steps, 7th on the step that asks four items at 13 to 15, 10th on the
    # seven-item step, 9th on the six-item step).
    proc = run("1\n2\n2\n1\n4\n8\n7\n8\n8\n10\n9\n", "console", "--now", "2026-12-02 10:00")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Share this concern today" in out
    assert "999" in out
    assert "First: are they safe now, and where are they?" in out
    assert "never replaces your professional judgement" in out
    assert out.rstrip().endswith("Nothing from this session was kept.")
    assert "Wednesday 10:00 — office hours" in out
    assert "Example contacts only" in out


def test_every_choice_keeps_its_number_on_a_tick_step_and_says_what_it_does() -> None:
    # Start, not in danger, 13 to 15, Education; on the first signs step: tick assault, try
    # "None of these" (its number stays, refused while something is ticked), then Done by the
    # number it had before the tick.
    proc = run("1\n2\n2\n1\n2\n6\n8\n", "console", "--now", "2026-12-02 10:00")
    screens = proc.stdout.split("─" * 60)
    first, ticked, after = screens[-3], screens[-2], screens[-1]
    for choice in ("6. None of these", "7. Not sure", "8. Done", "9. ◀ Back", "10. 🚨"):
        assert f"  {choice}" in first, choice
    for choice in ("6. (None of these", "7. Not sure", "8. Done", "9. ◀ Back", "10. 🚨"):
        assert f"  {choice}" in ticked, choice
    assert "None of these is there only while nothing is ticked" in ticked
    assert "None of these: go on, none of them apply" in first
    assert "Not sure: go on now" in first and "Done ✔: go on with what you ticked" in first
    assert "Serious signs (2 of 2)" in after, "8 is still Done after a tick, never Back"
    # On a one-answer step "Not sure" is an answer like the others: no tick-step hint beside it.
    danger = screens[2]
    assert "  3. Not sure\n" in danger and "go on now" not in danger


def test_now_selects_the_out_of_hours_route() -> None:
    proc = run("c\n", "console", "--now", "2026-12-05 21:40")
    assert "Saturday 21:40 — out of hours" in proc.stdout
    assert "01786 470500" in proc.stdout, "the out-of-hours social work service"


def test_validate_reports_the_example_contacts_as_not_deployable() -> None:
    proc = run("", "validate")
    assert proc.returncode == 1
    assert "example" in proc.stderr.lower()


def test_telegram_mode_refuses_the_example_file_naming_what_to_fill_in(tmp_path: Path) -> None:
    env = dict(os.environ)
    env.update(
        TELEGRAM_BOT_TOKEN="123456789:" + "A" * 35,
        CHAT_KEY_SECRET=secrets.token_urlsafe(32),
        CONTACTS_FILE=str(ROOT / "flows/content/contacts.example.yaml"),
    )
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "telegram"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "CONTACTS_FILE" in proc.stderr and "example" in proc.stderr.lower()
    assert "A" * 35 not in proc.stderr + proc.stdout, "the token is never printed"


def test_typed_text_is_never_echoed_or_kept() -> None:
    secret = "Jane Smith 12 High Street"
    proc = run(f"1\n{secret}\n", "console")
    assert proc.returncode == 0
    assert secret not in proc.stdout and secret not in proc.stderr
    assert "Never type names or details about a child" in proc.stdout


def test_lookups_mid_check_keep_the_check() -> None:
    # Start, answer danger, look up the emergency screen, then resume the check.
    proc = run("1\n2\ne\n1\n", "console")
    out = proc.stdout
    assert "If a child is in immediate danger" in out
    assert out.count("How old is the child") == 2, "the same step shows again after the lookup"


def test_make_run_without_a_token_starts_the_terminal_check() -> None:
    proc = run("q\n", "run")
    assert proc.returncode == 0
    assert "running the check in this terminal" in proc.stdout
    assert "CSE concern check" in proc.stdout


def test_a_database_that_cannot_open_still_gives_the_first_screen_then_999_and_the_contacts(
    tmp_path: Path,
) -> None:
    # The first screen comes before the database opens (behind it, while the practitioner reads);
    # when it cannot open, the first choice gets the safety net, never a crash.
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    proc = run("1\n", "console", DATABASE_URL=f"sqlite:///{not_a_folder / 'bot.db'}")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    welcome, _, after = proc.stdout.partition("Something went wrong on our side")
    assert "Start the check" in welcome
    assert "Call 999 now" in after and "Child Protection Coordinator" in after
    # Leaving says honestly that nothing could be deleted, and never claims it was.
    assert "Could not delete the open check now" in after
    assert "deleted" not in after.rpartition("It expires by itself.")[2]


def test_eof_exits_cleanly() -> None:
    proc = run("", "console")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr


def rows(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_quitting_mid_check_keeps_nothing(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    # Start, not in danger, 13 to 15, Education, tick assault: then quit mid-check.
    proc = run("1\n2\n2\n1\n2\nq\n", "console", DATABASE_URL=f"sqlite:///{db}")
    assert proc.returncode == 0, proc.stderr
    assert "✅ Assault, seen or suspected" in proc.stdout, "the check was open when we quit"
    assert rows(db, "conversation") == 0
    assert "Your answers were deleted" in proc.stdout
    # End of input mid-check (a closed pipe, a closed terminal) is the same.
    proc = run("1\n2\n2\n", "console", DATABASE_URL=f"sqlite:///{db}")
    assert rows(db, "conversation") == 0 and "Your answers were deleted" in proc.stdout


def test_a_practice_run_with_now_is_never_counted_and_says_so(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    keys = "1\n2\n2\n1\n4\n8\n7\n8\n8\n10\n9\ni\n1\n2\n2\nq\n"  # one finished, one left open
    proc = run(keys, "console", "--now", "2026-12-02 10:00", DATABASE_URL=f"sqlite:///{db}")
    assert "Share this concern today" in proc.stdout
    assert (rows(db, "conversation"), rows(db, "outcome_count"), rows(db, "lookup_count")) == (0, 0, 0)
    assert proc.stdout.rstrip().endswith("Nothing from this session was kept.")
    # Without --now the same finished check is counted, anonymously, and the goodbye says so.
    proc = run("1\n2\n2\n1\n4\n8\n7\n8\n8\n10\n9\n", "console", DATABASE_URL=f"sqlite:///{db}")
    assert rows(db, "outcome_count") == 1 and rows(db, "conversation") == 0
    assert "Only anonymous counts" in proc.stdout


def test_terminal_text_has_no_telegram_commands() -> None:
    keys = "1\n2\n2\n1\n7\n7\n8\n8\n9\n9\n" + "e\ni\nv\no\nw\nc\np\na\nh\n"
    proc = run(keys, "console", "--now", "2026-12-02 10:00")
    assert "A concern to talk through" in proc.stdout
    assert not re.search(r"(?<![\w./:])/[a-z]+", proc.stdout), "no /commands in the terminal"


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_closing_the_window_or_stopping_the_process_keeps_nothing(tmp_path: Path, signum: int) -> None:
    db = tmp_path / "t.db"
    env = {k: v for k, v in os.environ.items() if k not in ("TELEGRAM_BOT_TOKEN",)}
    env["DATABASE_URL"] = f"sqlite:///{db}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "console"],
        stdin=subprocess.PIPE,  # held open: the console is waiting for the next line, as at a terminal
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=env,
        text=True,
    )
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(iter(proc.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        assert proc.stdin is not None
        proc.stdin.write("1\n2\n2\n1\n2\n")  # start, not in danger, 13 to 15, Education, tick assault
        proc.stdin.flush()
        deadline = time.monotonic() + 30
        while not any("✅ Assault" in line for line in seen):
            assert time.monotonic() < deadline and proc.poll() is None, "".join(seen)[-2000:]
            time.sleep(0.05)  # the screen is printed after the tick is stored
        assert rows(db, "conversation") == 1, "the check is open"
        proc.send_signal(signum)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(timeout=10)
    assert rows(db, "conversation") == 0
    assert "Your answers were deleted" in "".join(seen)


def read_all(fd: int) -> str:
    """What is left to read from a pseudo-terminal whose process has ended."""
    out = b""
    while select.select([fd], [], [], 0.5)[0]:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # no process on the other side any more
            break
        if not chunk:
            break
        out += chunk
    return out.decode(errors="replace")


@pytest.mark.parametrize("leave", ["close the window", "Ctrl-C"])
def test_leaving_a_real_terminal_keeps_nothing(tmp_path: Path, leave: str) -> None:
    """The check runs on a pseudo-terminal as its controlling terminal. Closing the window: the
    terminal goes away, and the kernel ends the input and sends SIGHUP at nearly the same moment;
    whichever comes first, the open check is deleted. Ctrl-C: the terminal sends SIGINT."""
    db = tmp_path / "t.db"
    env = {k: v for k, v in os.environ.items() if k not in ("TELEGRAM_BOT_TOKEN",)}
    env["DATABASE_URL"] = f"sqlite:///{db}"
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "console"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=ROOT,
        env=env,
        start_new_session=True,  # its own session, with the pseudo-terminal as its terminal
        preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
    )
    os.close(slave)
    try:
        os.write(master, b"1\n2\n2\n1\n2\n")  # start, not in danger, 13 to 15, Education, tick assault
        shown, deadline = b"", time.monotonic() + 30
        while "✅ Assault".encode() not in shown:
            assert time.monotonic() < deadline and proc.poll() is None, shown.decode(errors="replace")[-2000:]
            if select.select([master], [], [], 0.5)[0]:
                shown += os.read(master, 65536)
        assert rows(db, "conversation") == 1, "the check is open"
        if leave == "Ctrl-C":
            os.write(master, b"\x03")
            assert proc.wait(timeout=30) == 0
            assert "Your answers were deleted" in read_all(master)
    finally:
        os.close(master)  # the window closes
    try:
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert rows(db, "conversation") == 0
