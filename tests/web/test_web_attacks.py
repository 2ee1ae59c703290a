"""The web page under attack (issue 21), over a real uvicorn server on 127.0.0.1 where the
attack needs one (bodies that never arrive, slow clients), else Starlette's test client.

Every attack is bounded in count and time; each test prints the figure docs/reliability.md quotes
(run with ``-s``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from bot.service import CheckService
from bot.web.routes import create_app
from bot.web.server import serve_beside
from bot.web.session import COOKIE
from flows.schema import Content
from storage.base import web_key
from testkit.helpers import free_port
from testkit.soak import SOAK
from tests.conftest import WEEKDAY_MORNING
from tests.web.test_web import SECRET, act, client_for, designated, field, make_service, start

BODY_TIMEOUT = 0.5


@contextlib.asynccontextmanager
async def running(app: Starlette) -> AsyncIterator[int]:
    """The app on uvicorn on 127.0.0.1 (as WEB_ENABLED serves it); yields the port."""
    port, stop = free_port(), asyncio.Event()
    task = asyncio.ensure_future(serve_beside(app, host="127.0.0.1", port=port, stop=stop))
    deadline = time.monotonic() + 10
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            break
        except OSError:
            assert time.monotonic() < deadline, "the page did not listen"
            await asyncio.sleep(0.02)
    try:
        yield port
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def exchange(port: int, raw: bytes, *, wait: float = 5.0) -> tuple[bytes, float]:
    """Send ``raw``, then read until the server closes the connection (or ``wait`` passes)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    t0 = time.monotonic()
    writer.write(raw)
    await writer.drain()
    answer = b""
    with contextlib.suppress(TimeoutError, OSError):
        async with asyncio.timeout(wait):
            while chunk := await reader.read(65536):
                answer += chunk
    writer.close()
    return answer, time.monotonic() - t0


def safety_page(content: Content, service: CheckService, answer: bytes) -> None:
    head, _, body = answer.partition(b"\r\n\r\n")
    headers = head.decode("latin-1").lower()
    assert "content-security-policy: default-src 'none'" in headers
    assert "cache-control: no-store" in headers
    assert b'href="tel:999"' in body
    assert designated(content, service).encode() in body


# -- §6 every failure shows 999 -------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/static/a%00", "/static/%00", "/look/a%00"])
def test_a_request_that_breaks_something_still_gets_999_with_the_headers_and_one_log_line(
    content: Content, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    service = make_service(content)
    with client_for(service) as client, caplog.at_level(logging.INFO):
        answer = client.get(path)
    assert answer.status_code in (400, 404, 500)
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    assert answer.headers["cache-control"] == "no-store"
    assert 'href="tel:999"' in answer.text and designated(content, service) in answer.text
    assert "Traceback" not in caplog.text
    assert all(len(r.getMessage()) < 120 and r.exc_info is None for r in caplog.records)


def test_a_failure_below_every_route_gets_the_safety_page(
    content: Content, caplog: pytest.LogCaptureFixture
) -> None:
    """Whatever raises outside a route's own guard gets the safety page and one line naming the
    error's type (here an endpoint added without the guard)."""
    service = make_service(content)
    app = create_app(service, secret=SECRET, ttl_hours=1)

    async def broken(_request: Request) -> Response:
        raise ValueError("embedded null byte")

    app.router.routes.insert(0, Route("/boom", broken))
    with TestClient(app) as client, caplog.at_level(logging.INFO):
        answer = client.get("/boom")
    assert answer.status_code == 500
    assert 'href="tel:999"' in answer.text and answer.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert lines == ["web: request failed: ValueError"]


def test_no_redirect_is_built_from_the_host_header(content: Content) -> None:
    with client_for(make_service(content)) as client:
        for path in ("/look/emergency/", "/quick-reference/", "/static/"):
            answer = client.get(path, headers={"host": "evil.example"}, follow_redirects=False)
            assert not answer.is_redirect, (path, answer.headers.get("location"))
            assert "evil.example" not in answer.headers.get("location", "")
            assert 'href="tel:999"' in answer.text


# -- §2 bodies ---------------------------------------------------------------------------------
def post(path: str, length: int, body: bytes = b"", chunked: bool = False) -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    head += "Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {length}\r\n"
    return head.encode() + b"\r\n" + body


async def test_a_huge_declared_body_is_refused_before_it_is_read(content: Content) -> None:
    service = make_service(content)
    async with running(create_app(service, secret=SECRET, ttl_hours=1, body_timeout=BODY_TIMEOUT)) as port:
        answer, took = await exchange(port, post("/start", 200_000_000, b"csrf=" + b"a" * 60_000))
    print(f"\n200 MB declared: {answer.split(b' ', 2)[1].decode()} after {took:.3f} s")
    assert answer.startswith(b"HTTP/1.1 413 ")
    safety_page(content, service, answer)
    # Answered although 199.9 MB of the body were never sent: refused before reading.


async def test_a_chunked_body_is_cut_off_at_the_limit(content: Content) -> None:
    service = make_service(content)
    chunk = b"400\r\n" + b"a" * 1024 + b"\r\n"
    async with running(create_app(service, secret=SECRET, ttl_hours=1, body_timeout=5)) as port:
        answer, took = await exchange(port, post("/start", 0, chunk * 64, chunked=True))
    print(f"\n64 KB chunked: {answer.split(b' ', 2)[1].decode()} after {took:.3f} s")
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"connection: close" in answer.lower()
    safety_page(content, service, answer)


@pytest.mark.parametrize("path", ["/start", "/act", "/feedback", "/clear"])
async def test_a_body_declared_but_never_sent_is_not_waited_on(content: Content, path: str) -> None:
    service = make_service(content)
    async with running(create_app(service, secret=SECRET, ttl_hours=1, body_timeout=BODY_TIMEOUT)) as port:
        answer, took = await exchange(port, post(path, 1000, b"csrf="), wait=BODY_TIMEOUT * 10)
    print(f"\n{path}, 1,000 bytes declared, 5 sent: {answer.split(b' ', 2)[1].decode()} after {took:.2f} s")
    assert answer.startswith(b"HTTP/1.1 400 ")
    safety_page(content, service, answer)
    # Answered (and closed) although the body never came: not waited on for ever.


async def test_a_good_form_still_works_over_a_real_server(content: Content) -> None:
    service = make_service(content)
    app = create_app(service, secret=SECRET, ttl_hours=1, body_timeout=BODY_TIMEOUT)
    async with running(app) as port, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        welcome = await client.get("/")
        csrf = re.search(r'name="csrf" value="([^"]*)"', welcome.text)
        assert csrf
        answer = await client.post("/start", data={"csrf": csrf.group(1), "action": "start"})
        assert answer.status_code == 303


# -- §5 sessions -----------------------------------------------------------------------------------
def session_cookie(client: TestClient) -> str | None:
    values = [c.value for c in client.cookies.jar if c.name == COOKIE]
    assert len(values) <= 1
    return values[0] if values else None


def plant(client: TestClient, value: str | None) -> None:
    """Set the session cookie as someone else could (the test client's cookie domain)."""
    client.cookies.clear()
    client.cookies.set(COOKIE, value or "", domain="testserver.local", path="/")


def answer_first(client: TestClient, page: str) -> str:
    """Answer the first question ("No"); return the next page."""
    assert act(client, page, "a:no").status_code == 303
    return client.get("/").text


def test_a_planted_cookie_is_never_adopted_and_start_always_issues_a_new_id(content: Content) -> None:
    service = make_service(content)
    with client_for(service) as attacker, client_for(service) as victim:
        # A value we never issued: the page does not use it.
        plant(victim, "a" * 43)
        assert 'name="token"' not in victim.get("/").text  # the welcome, no check
        assert 'name="token"' not in victim.get("/new").text  # not even a first question
        # A value we did issue, planted by someone who started (and even answered) a check.
        page = start(attacker)
        planted = session_cookie(attacker)
        answer_first(attacker, page)
        plant(victim, planted)
        shown = victim.get("/").text
        assert planted is not None and field(shown, "token")  # the attacker's check, not the victim's
        answer = victim.post("/start", data={"csrf": field(shown, "csrf"), "action": "start"})
        own = session_cookie(victim)
        assert own not in (None, planted), "a new id for every start"
        second = answer_first(victim, answer.text)
        # The attacker's value shows the attacker's own check (stopped by the victim's start), never
        # the victim's question.
        seen = attacker.get("/").text
        assert field(second, "token") not in seen
        assert 'name="token"' not in seen or field(seen, "token") != field(second, "token")


def test_a_value_with_no_stored_check_starts_nothing(content: Content) -> None:
    """A started check is stored only with its first answer: until then the cookie leads to the
    welcome, and a forged first-question form under another value is refused."""
    service = make_service(content)
    with client_for(service) as client:
        page = start(client)
        assert 'name="token"' not in client.get("/").text
        assert service.store.rows == {}  # type: ignore[attr-defined]
        answer_first(client, page)
        assert len(service.store.rows) == 1  # type: ignore[attr-defined]


# -- §3 figures that cannot be forged ----------------------------------------------------------------
def to_outcome(client: TestClient) -> str:
    """A whole check on the web (danger now, then skip): the outcome page."""
    page = start(client)
    assert act(client, page, "a:yes").status_code == 303
    assert act(client, client.get("/").text, "a:skip").status_code == 303
    outcome = client.get("/").text
    assert "/feedback" in outcome
    return outcome


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_report_a_problem_counts_once_per_outcome_and_never_without_one(
    content: Content, kind: str, tmp_path: Path
) -> None:
    store = None
    if kind == "sqlite":
        from storage.sql.schema import migrate
        from storage.sql.store import SqlStore

        url = f"sqlite:///{tmp_path / 'feedback.sqlite3'}"
        migrate(url)
        store = SqlStore(url=url, ttl=dt.timedelta(hours=1))
    service = make_service(content, store)
    tries = 1000 if SOAK else 100
    with client_for(service) as client:
        outcome = to_outcome(client)
        ticket = re.search(r'value="(\d{1,2}_[0-9a-f]{1,8}\.\d+\.[A-Za-z0-9_-]{12}\.[0-9a-f]{16})"', outcome)
        assert ticket, "the outcome's Report a problem carries a ticket"
        data = {"csrf": field(outcome, "csrf"), "action": ticket.group(1)}
        answers = [client.post("/feedback", data=data).status_code for _ in range(tries // 2)]
        # The outcome shown again (a reload) carries a ticket for the same outcome: still once.
        again = re.search(
            r'value="(\d{1,2}_[0-9a-f]{1,8}\.\d+\.[A-Za-z0-9_-]{12}\.[0-9a-f]{16})"', client.get("/").text
        )
        assert again
        data["action"] = again.group(1)
        answers += [client.post("/feedback", data=data).status_code for _ in range(tries - tries // 2)]
        code = data["action"].split(".")[0]
        forged = [
            client.post("/feedback", data={"csrf": data["csrf"], "action": action}).status_code
            for action in [code] * (tries // 2)
            + [data["action"][:-1] + "01"[data["action"][-1] == "0"]] * (tries // 2)
        ]
    counted = await service.store.feedback_counts(since=WEEKDAY_MORNING.date())
    print(f"\n{tries} reports of one outcome, {tries} forged: counted {sum(c[-1] for c in counted)}")
    assert set(answers) == {200}, "the thanks every time"
    assert set(forged) == {400}
    assert [c[-1] for c in counted] == [1]
    await service.store.close()


async def test_restarting_is_not_abandoning_and_an_answered_check_left_is(content: Content) -> None:
    service = make_service(content)
    tries = 3000 if SOAK else 200
    with client_for(service) as client:
        page = start(client)
        for _ in range(tries):
            page = client.post("/start", data={"csrf": field(page, "csrf"), "action": "start"}).text
        answer_first(client, page)  # one answer, then started again: one abandoned
        client.post("/start", data={"csrf": field(client.get("/").text, "csrf"), "action": "start"})
    counts = await service.store.outcome_counts(since=WEEKDAY_MORNING.date())
    print(f"\n{tries} re-posted starts, then one answered check left: {counts}")
    assert [(c[1], c[-1]) for c in counts] == [("abandoned", 1)]


def test_new_web_checks_are_capped_per_minute_and_logged_once(
    content: Content, caplog: pytest.LogCaptureFixture
) -> None:
    service, cap = make_service(content), 5
    app = create_app(service, secret=SECRET, ttl_hours=1, new_checks_per_minute=cap)
    with TestClient(app) as client, caplog.at_level(logging.INFO):
        statuses = []
        for _ in range(cap * 4):
            page = start(client)
            statuses.append(act(client, page, "a:no").status_code)
    print(f"\n{cap * 4} first answers with a cap of {cap} a minute: {statuses.count(303)} stored")
    assert statuses.count(303) == cap and statuses.count(503) == cap * 3
    assert len(service.store.rows) <= cap  # type: ignore[attr-defined]
    capped = [r for r in caplog.records if "capped" in r.getMessage()]
    assert len(capped) == 1


def test_stats_say_web_figures_cannot_be_verified(content: Content) -> None:
    from bot.stats import stats_screen

    screen = stats_screen(content, [], [], today=WEEKDAY_MORNING.date(), weeks=8)
    assert any("cannot be verified" in line for s in screen.sections for line in s.lines)


# -- §4 storage bounded ----------------------------------------------------------------------------
async def test_purging_many_expired_rows_keeps_answering_and_counts_only_answered_checks(
    content: Content, tmp_path: Path
) -> None:
    """ROWS expired checks (half never answered) purged while practitioners' requests go on: the
    purge works in small batches, so every request is answered (none fails on the write lock),
    and only the answered checks count as abandoned."""
    import sqlite3

    from storage.sql.schema import migrate
    from storage.sql.store import SqlStore

    rows = 200_000 if SOAK else 4_000
    db = tmp_path / "purge.sqlite3"
    url = f"sqlite:///{db}"
    migrate(url)
    seed = SqlStore(url=f"{url}?timeout=1", ttl=-dt.timedelta(seconds=1))
    service = make_service(content, seed)
    page = service.first_step("seed1234")
    await service.press(
        key=web_key(SECRET, "seed"), update_id=None, action="a:no", token=page.token, fresh="seed1234"
    )
    await seed.close()
    with sqlite3.connect(db) as raw:  # copies of that one expired row (version 2), and unanswered ones
        (template,) = raw.execute("SELECT * FROM conversation").fetchall()
        columns = [d[1] for d in raw.execute("PRAGMA table_info(conversation)").fetchall()]
        at = {name: i for i, name in enumerate(columns)}

        def copy(i: int) -> tuple[object, ...]:
            row = list(template)
            row[at["key"]] = web_key(SECRET, f"k{i}")
            row[at["version"]] = 2 if i % 2 else 1
            return tuple(row)

        raw.executemany(
            f"INSERT INTO conversation VALUES ({', '.join('?' * len(columns))})",
            (copy(i) for i in range(rows)),
        )
        raw.execute("DELETE FROM conversation WHERE key = ?", (web_key(SECRET, "seed"),))
    store = SqlStore(url=f"{url}?timeout=1", ttl=dt.timedelta(hours=1))
    live = make_service(content, store)
    now = dt.datetime.now(dt.UTC)
    purge = asyncio.ensure_future(store.purge(now=now))
    waits: list[float] = []
    failures = 0
    while not purge.done():
        t0 = time.monotonic()
        try:
            first = live.first_step("live1234")
            await live.press(
                key=web_key(SECRET, f"live{len(waits)}"),
                update_id=None,
                action="a:no",
                token=first.token,
                fresh="live1234",
            )
        except Exception as err:  # noqa: BLE001 - counted: the point is that none fail
            failures += 1
            print(type(err).__name__)
        waits.append(time.monotonic() - t0)
        await asyncio.sleep(0)
    purged = await purge
    counts = await store.outcome_counts(since=now.date())
    await store.close()
    print(
        f"\npurged {purged} expired rows while {len(waits)} requests ran: {failures} failed, "
        f"slowest {max(waits):.3f} s; abandoned counted {[c[-1] for c in counts]}"
    )
    assert purged == rows
    assert failures == 0 and len(waits) > 1
    assert [(c[1], c[-1]) for c in counts] == [("abandoned", rows // 2)]


@pytest.mark.slow
async def test_the_web_page_alone_purges_expired_checks_at_start_up(content: Content, tmp_path: Path) -> None:
    """`cse-triage web` on its own runs the same sweep as Telegram mode (bot/sweep.py): an
    expired check is gone soon after start-up, without any Telegram process."""
    from storage.sql.schema import migrate
    from storage.sql.store import SqlStore
    from testkit.web_harness import WebServer

    server = WebServer(tmp_path)
    url = f"sqlite:///{server.db}"
    migrate(url)
    stale = SqlStore(url=url, ttl=-dt.timedelta(seconds=1))
    service = make_service(content, stale)
    first = service.first_step("old12345")
    await service.press(
        key=web_key(SECRET, "old"), update_id=None, action="a:no", token=first.token, fresh="old12345"
    )
    await stale.close()

    def rows() -> int:
        import sqlite3

        with contextlib.closing(sqlite3.connect(server.db)) as raw:
            return int(raw.execute("SELECT count(*) FROM conversation").fetchone()[0])

    assert rows() == 1
    server.start()
    try:
        deadline = time.monotonic() + 30
        while rows():
            assert time.monotonic() < deadline, "the expired check was not purged"
            await asyncio.sleep(0.1)
    finally:
        server.stop()
    assert "purged 1 expired checks" in server.log.read_text()
