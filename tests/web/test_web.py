"""The web page over HTTP, without a browser: headers, the one cookie, refusals, failures, counts.

Starlette's test client drives the same app `cse-triage web` serves, over a service on the
in-memory store (or SQLite where the counts are read back).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from bot import wiring
from bot.service import CheckService
from bot.stats import load_stats
from bot.web.routes import create_app
from bot.web.session import COOKIE, Sessions
from flows.contacts import EXAMPLE_CONTACTS, load_directory
from flows.machine import OUTCOME, Conversation, Flow
from flows.schema import Content
from storage.base import chat_key, web_key
from testkit.memory_store import DownStore, MemoryStore
from testkit.shipped import example_directory
from tests.conftest import WEEKDAY_MORNING

SECRET = b"web-unit-tests-" + b"x7Kq2Lm9Pz4Rt8Wv3Nb6"
TTL_HOURS = 24


def make_service(content: Content, store: object | None = None, *, draft: bool = False) -> CheckService:
    """The web channel's service on the example contacts, on a weekday morning (a draft preview
    when ``draft``)."""
    return wiring.check_service(
        content=content,
        directory=example_directory(),
        store=store or MemoryStore(),  # type: ignore[arg-type]
        clock=lambda: WEEKDAY_MORNING,
        channel="web",
        draft=draft,
    )


def client_for(service: CheckService, base_url: str = "http://testserver") -> TestClient:
    return TestClient(create_app(service, secret=SECRET, ttl_hours=TTL_HOURS), base_url=base_url)


def field(html: str, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert m, name
    return m.group(1)


def start(client: TestClient) -> str:
    """Start a check; return the first step's page (shown at once, stored nowhere yet)."""
    welcome = client.get("/")
    answer = client.post("/start", data={"csrf": field(welcome.text, "csrf"), "action": "start"})
    assert answer.status_code == 200 and answer.url.path == "/new" and 'name="token"' in answer.text
    return answer.text


def act(client: TestClient, page: str, action: str, **extra: str) -> object:
    data = {"csrf": field(page, "csrf"), "token": field(page, "token"), "action": action, **extra}
    return client.post("/act", data=data, follow_redirects=False)


def designated(content: Content, service: CheckService) -> str:
    """The designated contact's number as the safety net shows it (from the contacts file)."""
    net = service.failure_screen()
    lines = [c for s in net.sections for c in s.contacts if c.tel and c.tel != "999"]
    assert lines
    return lines[0].phone or ""


def test_every_page_has_the_security_headers_and_one_strict_cookie(content: Content) -> None:
    service = make_service(content)
    with client_for(service) as client:
        welcome = client.get("/")
        assert "set-cookie" not in welcome.headers  # no cookie until a check starts
        answer = client.post(
            "/start", data={"csrf": field(welcome.text, "csrf"), "action": "start"}, follow_redirects=False
        )
        assert answer.status_code == 303
        cookies = answer.headers.get_list("set-cookie")
        assert len(cookies) == 1
        cookie = cookies[0].lower()
        assert cookie.startswith(f"{COOKIE}=")
        for part in ("httponly", "samesite=strict", "path=/"):
            assert part in cookie
        assert "max-age" not in cookie and "expires" not in cookie  # ends with the browser session
        assert "secure" not in cookie  # plain http on localhost
        for path in ("/", "/look/contacts", "/quick-reference", "/nope"):
            page = client.get(path)
            csp = page.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
            assert "unsafe-inline" not in csp and "http" not in csp  # no third-party anything
            assert page.headers["referrer-policy"] == "no-referrer"
            assert page.headers["cache-control"] == "no-store"
            assert 'href="tel:999"' in page.text


def test_the_cookie_is_secure_behind_tls(content: Content) -> None:
    with client_for(make_service(content), base_url="https://testserver") as client:
        welcome = client.get("/")
        answer = client.post(
            "/start", data={"csrf": field(welcome.text, "csrf"), "action": "start"}, follow_redirects=False
        )
        cookie = answer.headers["set-cookie"].lower()
        assert cookie.startswith("__host-cse_session=") and "secure" in cookie and "domain" not in cookie


@pytest.mark.parametrize(
    "forge",
    [
        {"extra": "Jane"},  # a field no page sends
        {"action": "a:not_an_option"},  # a value the step does not offer
        {"action": "free text here"},
        {"token": "abc"},
        {"csrf": "s" + "0" * 32},
    ],
)
def test_an_unexpected_field_or_value_gets_400_with_999_and_changes_nothing(
    content: Content, forge: dict[str, str]
) -> None:
    service = make_service(content)
    with client_for(service) as client:
        page = start(client)
        data = {"csrf": field(page, "csrf"), "token": field(page, "token"), "action": "a:no", **forge}
        answer = client.post("/act", data=data, follow_redirects=False)
        assert answer.status_code == 400
        assert 'href="tel:999"' in answer.text
        assert designated(content, service) in answer.text
        assert act(client, page, "a:no").status_code == 303  # nothing changed: the page still works


def test_a_cross_site_post_is_refused(content: Content) -> None:
    with client_for(make_service(content)) as client:
        page = start(client)
        data = {"csrf": field(page, "csrf"), "token": field(page, "token"), "action": "a:no"}
        for headers in ({"sec-fetch-site": "cross-site"}, {"origin": "https://evil.example"}):
            assert client.post("/act", data=data, headers=headers).status_code == 400
        assert act(client, page, "a:no").status_code == 303  # nothing changed: the page still works


def test_a_failing_store_still_shows_999_and_the_designated_contact(content: Content) -> None:
    service = make_service(content, DownStore())
    with client_for(service) as client:
        client.cookies.set(COOKIE, Sessions(SECRET, 60).new_id())  # a session we issued
        for answer in (
            client.get("/"),
            client.post(
                "/start", data={"csrf": field(client.get("/look/emergency").text, "csrf"), "action": "start"}
            ),
        ):
            assert answer.status_code == 503
            assert 'href="tel:999"' in answer.text
            assert designated(content, service) in answer.text
            assert content.texts.unavailable in answer.text  # as in Telegram and the terminal
        # Lookups need no database.
        assert client.get("/look/contacts").status_code == 200


def test_a_web_key_never_equals_a_telegram_key() -> None:
    sid = "1:2"  # even a session id shaped like a chat's "<bot id>:<chat id>"
    assert web_key(SECRET, sid) != chat_key(SECRET, 1, 2)
    assert web_key(SECRET, sid) != web_key(b"another secret", sid)


async def test_web_checks_are_counted_as_web_in_stats(content: Content, tmp_path: Path) -> None:
    from storage.sql.schema import migrate
    from testkit.checked_store import ContentCheckedStore

    url = f"sqlite:///{tmp_path / 'count.sqlite3'}"
    migrate(url)
    directory = example_directory()
    flow = Flow(content, directory.services)
    store = ContentCheckedStore(url=url, ttl=dt.timedelta(hours=1), validate=flow.load)
    for channel in ("web", "web", "telegram"):
        svc = wiring.check_service(
            flow=flow, store=store, directory=directory, clock=lambda: WEEKDAY_MORNING, channel=channel
        )
        key = web_key(SECRET, str(id(svc)))
        await svc.start(key=key, update_id=None)
        reply = await svc.press(key=key, update_id=None, action="a:yes", token=None)
        reply = await svc.press(key=key, update_id=None, action="a:skip", token=None)
        assert reply.screen.level == "emergency"
    screen = await load_stats(store, content, today=WEEKDAY_MORNING.date())
    lines = [line for s in screen.sections for line in s.lines]
    assert "By channel: telegram 1, web 2" in lines
    assert await store.outcome_counts(since=WEEKDAY_MORNING.date()) == [
        (WEEKDAY_MORNING.date(), "emergency", content.meta.version, "", 3)
    ]
    await store.close()


def test_a_start_button_from_a_tab_opened_before_the_check_still_starts_one(content: Content) -> None:
    with client_for(make_service(content)) as client:
        other_tab = client.get("/").text  # drawn before this browser had a session
        first = start(client)
        answer = client.post("/start", data={"csrf": field(other_tab, "csrf"), "action": "start"})
        assert answer.status_code == 200
        assert field(answer.text, "token") != field(first, "token")  # a new check, same browser
        # Its form token works for nothing else.
        data = {"csrf": field(other_tab, "csrf"), "token": field(answer.text, "token"), "action": "a:no"}
        assert client.post("/act", data=data).status_code == 400


@pytest.mark.slow
def test_the_web_process_reloads_good_contacts_on_sighup_and_keeps_the_last_good_on_a_bad_edit(
    tmp_path: Path,
) -> None:
    import time

    import yaml

    from bot.reload import signal_workers
    from testkit.deploy import REAL_LOOKING, filled_contacts
    from testkit.web_harness import WebServer

    stirling = "01786 471177"  # a verified public number (Stirling social work), never dialled
    contacts = filled_contacts(tmp_path)
    run_dir = tmp_path / "run"
    server = WebServer(
        tmp_path, "--now", "2026-12-02 10:00", CONTACTS_FILE=str(contacts), RUN_DIR=str(run_dir)
    )

    def edit(phone: str) -> None:
        data = yaml.safe_load(contacts.read_text(encoding="utf-8"))
        data["social_work"]["office"]["phone"] = phone
        contacts.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")

    def shows(number: str) -> bool:
        return number in server.get("/look/contacts")

    server.start()
    try:
        assert shows(REAL_LOOKING)
        edit(stirling)
        assert signal_workers(run_dir) == 1, "`cse-triage reload` finds the web process"
        deadline = time.monotonic() + 10
        while not shows(stirling):
            assert time.monotonic() < deadline, "the web page did not reload its contacts"
            time.sleep(0.05)
        edit("01632 960000")  # a drama number: not fit for real use
        assert signal_workers(run_dir) == 1
        deadline = time.monotonic() + 10
        while "contacts reload refused" not in server.log.read_text():
            assert time.monotonic() < deadline, "the bad edit was not refused"
            time.sleep(0.05)
        assert shows(stirling)
    finally:
        server.stop()
    assert not list(run_dir.glob("web-*.pid")), "the pid file goes with the process"


def test_a_refused_request_says_so_and_a_failure_says_whom_to_call(content: Content) -> None:
    web = content.texts.web
    with client_for(make_service(content)) as client:
        assert f"<h1>{web.bad_request_title}</h1>" in client.get("/?child=x").text
        assert f"<h1>{web.bad_request_title}</h1>" in client.get("/nowhere").text
    with client_for(make_service(content, DownStore())) as client:
        client.cookies.set(COOKIE, Sessions(SECRET, 60).new_id())  # a session we issued
        assert f"<h1>{web.notice_title}</h1>" in client.get("/").text


@pytest.mark.slow
async def test_webhook_mode_serves_the_web_page_beside_the_hook_from_one_process(tmp_path: Path) -> None:
    """WEB_ENABLED=true: one process answers Telegram on /hook and serves the same check on the
    web port, over the same store (a web check is counted as web)."""
    import json
    import sqlite3

    import httpx

    from bot.telegram.webhook import SECRET_HEADER
    from testkit.botapi import FakeTelegram, message, serving
    from testkit.helpers import bot_env, free_port, start_bot, stop_bot

    secret, chat = "Web_Beside_Hook-7qLx2Vn9Rk4", 5550101
    api = FakeTelegram()
    db = tmp_path / "bot.db"
    log = tmp_path / "bot.log"
    async with serving(api) as url:
        hook, web_port = free_port(), free_port()  # the bot must be told its ports
        env = bot_env(
            tmp_path,
            url,
            BOT_MODE="webhook",
            WEBHOOK_URL="https://bot.example.org/hook",
            WEBHOOK_SECRET=secret,
            WEBHOOK_PORT=str(hook),
            WEB_ENABLED="true",
            WEB_PORT=str(web_port),
            DATABASE_URL=f"sqlite:///{db}",
        )
        proc = await start_bot(env, log)
        try:
            await api.until(lambda: bool(api.of("setWebhook")), 30, "the webhook to be registered")
            web = httpx.AsyncClient(
                timeout=10, base_url=f"http://127.0.0.1:{web_port}", follow_redirects=True
            )
            async with web as client:
                posted = await client.post(
                    f"http://127.0.0.1:{hook}/hook",
                    content=json.dumps(message(api, chat, "/emergency")),
                    headers={SECRET_HEADER: secret},
                )
                assert posted.status_code == 200
                await api.until(
                    lambda: any(int(p["chat_id"]) == chat for p in api.of("sendMessage")), 10, "the reply"
                )
                # The web page, from the same process: a whole check to an outcome.
                welcome = await client.get("/")
                assert welcome.status_code == 200 and 'href="tel:999"' in welcome.text
                page = await client.post(
                    "/start", data={"csrf": field(welcome.text, "csrf"), "action": "start"}
                )
                for action in ("a:yes", "a:skip"):  # in danger, then "Show what to do now"
                    form = {
                        "csrf": field(page.text, "csrf"),
                        "token": field(page.text, "token"),
                        "action": action,
                    }
                    page = await client.post("/act", data=form)
                assert page.status_code == 200 and "outcome level-emergency" in page.text
        finally:
            await stop_bot(proc)
    assert proc.returncode == 0, log.read_text()
    with sqlite3.connect(db) as conn:
        channels = dict(conn.execute("SELECT channel, SUM(count) FROM outcome_count GROUP BY channel"))
    assert channels == {"web": 1}


def test_web_enabled_needs_webhook_mode_and_a_reload_reaches_the_web_page_too(
    content: Content, tmp_path: Path
) -> None:
    from bot.config import Settings
    from testkit.deploy import filled_contacts

    polling = Settings(_env_file=None, bot_mode="polling", web_enabled=True)  # type: ignore[call-arg]
    assert any(p.startswith("WEB_ENABLED") for p in polling.telegram_problems())
    webhook = Settings(_env_file=None, bot_mode="webhook", web_enabled=True)  # type: ignore[call-arg]
    assert not any(p.startswith("WEB_ENABLED") for p in webhook.telegram_problems())
    telegram = make_service(content)
    web = telegram.sibling("web")
    assert (web.channel, web.store, web.flow) == ("web", telegram.store, telegram.flow)
    reloaded = load_directory(filled_contacts(tmp_path))
    telegram.use_directory(reloaded)
    assert web.directory is reloaded


def test_the_privacy_page_on_the_web_explains_the_cookie_not_telegram(content: Content) -> None:
    with client_for(make_service(content)) as client:
        page = client.get("/look/privacy").text
    for line in content.texts.web.privacy:
        assert line.replace("'", "&#39;") in page
    for line in content.texts.privacy_telegram:
        assert line not in page


async def test_workers_beside_their_webhooks_share_one_web_port_and_a_taken_port_stops_nothing(
    content: Content, caplog: pytest.LogCaptureFixture
) -> None:
    """Several webhook workers read one env file, so one WEB_PORT: each serves the page on it
    (SO_REUSEPORT). A port another program holds only costs the page, logged, never Telegram."""
    import asyncio
    import socket

    import httpx

    from bot.web.server import serve_beside
    from testkit.helpers import free_port

    port = free_port()
    stop = asyncio.Event()
    apps = [create_app(make_service(content), secret=SECRET, ttl_hours=1) for _ in range(2)]
    tasks = [asyncio.ensure_future(serve_beside(a, host="127.0.0.1", port=port, stop=stop)) for a in apps]
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            deadline = asyncio.get_running_loop().time() + 10
            while True:
                try:
                    answer = await client.get(f"http://127.0.0.1:{port}/healthz")
                    break
                except httpx.ConnectError:
                    assert asyncio.get_running_loop().time() < deadline, "the page did not listen"
                    await asyncio.sleep(0.02)
            assert answer.status_code == 200
            assert not any(t.done() for t in tasks), "both workers are serving"
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        with caplog.at_level("ERROR", logger="bot.web.server"):
            await serve_beside(apps[0], host="127.0.0.1", port=busy, stop=asyncio.Event())
    assert "web page not served" in caplog.text


def test_the_app_manifest_and_service_worker_name_the_offline_pages(content: Content) -> None:
    with client_for(make_service(content)) as client:
        manifest = client.get("/manifest.webmanifest")
        assert manifest.headers["content-type"].startswith("application/manifest+json")
        body = manifest.json()
        assert body["start_url"] == "/" and body["name"] == content.texts.welcome_title
        assert client.get(body["icons"][0]["src"]).status_code == 200
        worker = client.get("/sw.js")
        assert worker.headers["content-type"].startswith("text/javascript")
        for page in ("/look/emergency", "/look/contacts", "/quick-reference"):
            assert f'"{page}"' in worker.text
            assert client.get(page).status_code == 200


@pytest.mark.slow
def test_the_web_page_refuses_to_start_without_a_key_secret_or_on_the_example_contacts(
    tmp_path: Path,
) -> None:
    import os
    import subprocess
    import sys

    from testkit.web_harness import ROOT

    base = {k: v for k, v in os.environ.items() if k not in ("CHAT_KEY_SECRET", "CONTACTS_FILE")}
    base.update(PYTHONPATH=str(ROOT), DATABASE_URL=f"sqlite:///{tmp_path / 'refused.db'}")

    def web(**env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", "web", "--port", "1"],
            env={**base, **env},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    no_secret = web()
    assert no_secret.returncode == 2 and "CHAT_KEY_SECRET" in no_secret.stderr
    example = web(CHAT_KEY_SECRET=SECRET.decode(), CONTACTS_FILE=str(EXAMPLE_CONTACTS))
    assert example.returncode == 2 and "CONTACTS_FILE" in example.stderr
    assert "CHAT_KEY_SECRET" not in example.stderr


# -- one form per step (issue 24), one write per step (issue 23) ---------------------------------
class CountingStore(MemoryStore):
    """The in-memory store, counting its transactions and those that wrote something."""

    def __init__(self) -> None:
        super().__init__()
        self.transactions = 0
        self.writes = 0

    async def transact(self, **kwargs: Any) -> Any:  # type: ignore[override]
        decision = await super().transact(**kwargs)
        self.transactions += 1
        self.writes += bool(decision.changed)
        return decision


def submit(client: TestClient, page: str, action: str, ticks: tuple[str, ...] = ()) -> Any:
    data: dict[str, Any] = {"csrf": field(page, "csrf"), "token": field(page, "token"), "action": action}
    if ticks:
        data["tick"] = list(ticks)
    return client.post("/act", data=data, follow_redirects=False)


def to_signs(client: TestClient, flow: Flow) -> str:
    """From a new check to the first multi step: not in danger, 13 to 15, the first service."""
    page = start(client)
    for action in ("a:no", "a:13_15", f"a:{flow.options(flow.step('service'))[0][0]}"):
        assert submit(client, page, action).status_code == 303
        page = client.get("/").text
    return page


def test_a_step_is_one_request_and_one_write_and_the_page_after_it_one_read(content: Content) -> None:
    store = CountingStore()
    service = make_service(content, store)
    with client_for(service) as client:
        page = to_signs(client, service.flow)
        first = service.flow.step("signs_1")
        before = (store.transactions, store.writes)
        # Two ticks and "Done" arrive together in one POST: one transaction, which writes.
        answer = submit(client, page, "done", (first.items[0], first.items[2]))
        assert answer.status_code == 303 and answer.headers["location"] == "/"
        assert (store.transactions - before[0], store.writes - before[1]) == (1, 1)
        # The page after the redirect reads the check once and writes nothing.
        page = client.get("/").text
        assert (store.transactions - before[0], store.writes - before[1]) == (2, 1)
        assert f"<h1>{service.flow.step('signs_2').title}</h1>" in page
        submit(client, page, "back")
        back = client.get("/").text
        for i, item in enumerate(first.items):
            ticked = re.search(rf'id="t-{item}"[^>]*\bchecked\b', back) is not None
            assert ticked == (i in (0, 2)), item


def test_none_of_these_with_a_tick_is_refused_with_an_error_and_the_ticks_kept(content: Content) -> None:
    store = CountingStore()
    service = make_service(content, store)
    web = content.texts.web
    with client_for(service) as client:
        page = to_signs(client, service.flow)
        item = service.flow.step("signs_1").items[3]  # a controlling adult: no follow-up question
        before = store.transactions
        answer = submit(client, page, "done", (item, "a:none"))
        # Shown at once (no redirect, no second read), with the error summary and the tick kept.
        assert answer.status_code == 200 and store.transactions == before + 1
        assert 'class="ds_error-summary"' in answer.text and web.none_with_ticks in answer.text
        assert re.search(rf'id="t-{item}"[^>]*\bchecked\b', answer.text)
        assert f"<h1>{service.flow.step('signs_1').title}</h1>" in answer.text
        # "None of these" alone moves on, as does "Done" with the tick.
        assert submit(client, answer.text, "done", (item,)).status_code == 303
        assert f"<h1>{service.flow.step('signs_2').title}</h1>" in client.get("/").text
        assert submit(client, client.get("/").text, "done", ("a:none",)).status_code == 303
        assert f"<h1>{service.flow.step('signs_3').title}</h1>" in client.get("/").text
        # A tick that is not on the step, or a tick on a step without checkboxes: 400, nothing changed.
        page = client.get("/").text
        assert submit(client, page, "done", (item,)).status_code == 400
        assert f"<h1>{service.flow.step('signs_3').title}</h1>" in client.get("/").text


def finish_check(client: TestClient) -> str:
    """Danger now, then straight to what to do: the emergency outcome, after its redirect."""
    page = start(client)
    for action in ("a:yes", "a:skip"):
        assert submit(client, page, action).status_code == 303
        page = client.get("/").text
    return page


async def test_the_outcome_survives_a_reload_until_clear_and_start_again(content: Content) -> None:
    store = MemoryStore()
    service = make_service(content, store)
    title = content.outcomes["emergency"].title
    with client_for(service) as client:
        outcome = finish_check(client)
        assert title in outcome and 'class="cse-lead"' in outcome
        assert title in client.get("/").text  # a reload, or a tab the phone evicted
        # Counted once, when it finished; nothing but codes is kept.
        day = WEEKDAY_MORNING.date()
        assert await store.outcome_counts(since=day) == [(day, "emergency", content.meta.version, "", 1)]
        ((record, _),) = store.rows.values()
        assert record.data["state"] == OUTCOME
        assert record.data["answers"] == {"danger": "yes", "danger_alert": "skip"}
        # "Clear and start again" deletes it: a new check under a new session, nothing counted.
        answer = client.post("/clear", data={"csrf": field(outcome, "csrf"), "action": "clear"})
        assert title not in answer.text
        assert store.rows == {}  # the new check's first question is stored nowhere (issue 21 §4)
        assert await store.outcome_counts(since=day) == [(day, "emergency", content.meta.version, "", 1)]
        # A new check started from a kept outcome is not an abandoned one either.
        outcome = finish_check(client)
        counted = await store.outcome_counts(since=day)
        client.post("/start", data={"csrf": field(outcome, "csrf"), "action": "restart"})
        assert await store.outcome_counts(since=day) == counted


async def test_a_kept_outcome_that_expires_is_not_counted_as_abandoned(
    content: Content, tmp_path: Path
) -> None:
    from storage.base import FINISHED
    from storage.sql.schema import migrate
    from storage.sql.store import SqlStore

    assert FINISHED == OUTCOME  # storage names the state without importing flows
    url = f"sqlite:///{tmp_path / 'kept.sqlite3'}"
    migrate(url)
    store = SqlStore(url=url, ttl=dt.timedelta(hours=1))
    web = wiring.check_service(
        content=content,
        directory=example_directory(),
        store=store,
        clock=lambda: WEEKDAY_MORNING,
        channel="web",
    )
    for sid, actions in (("kept", ("a:yes", "a:skip")), ("open", ("a:no",))):
        key = web_key(SECRET, sid)
        reply = await web.start(key=key, update_id=None)
        for action in actions:
            reply = await web.press(key=key, token=reply.token, action=action, ticks=())
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    assert await store.purge(now=later) == 2
    counts = {(level, n) for _, level, _, _, n in await store.outcome_counts(since=WEEKDAY_MORNING.date())}
    assert counts == {("emergency", 1), ("abandoned", 1)}
    await store.close()


def test_the_design_system_is_the_locked_release_and_nothing_is_loaded_from_elsewhere(
    content: Content,
) -> None:
    """The page's CSS and JavaScript are built from the design system pinned (with its hash) in
    assets/web/package-lock.json, its licence shipped beside them; no page names another site."""
    import json

    root = Path(__file__).resolve().parents[2]
    lock = json.loads((root / "assets/web/package-lock.json").read_text(encoding="utf-8"))
    ds = lock["packages"]["node_modules/@scottish-government/design-system"]
    pinned = json.loads((root / "assets/web/package.json").read_text(encoding="utf-8"))["devDependencies"]
    assert ds["integrity"].startswith("sha512-")
    assert pinned["@scottish-government/design-system"] == ds["version"]
    static = root / "bot/web/static"
    for built in ("ds.css", "app.js"):
        first = (static / built).read_text(encoding="utf-8").splitlines()[0]
        assert f"Scottish Government Design System {ds['version']} (MIT licence" in first, built
    assert "MIT" in (static / "ds-LICENCE.txt").read_text(encoding="utf-8")
    with client_for(make_service(content)) as client:
        page = start(client)
        for path in re.findall(r'(?:href|src)="(/static/[^"]+)"', page):
            assert client.get(path).status_code == 200, path
        assert not re.search(r'(?:href|src)="(?:https?:)?//', page)


def test_the_web_figures_count_pages_by_step_outcomes_by_level_and_refusals(content: Content) -> None:
    from bot.metrics import METRICS
    from tests.ops.test_metrics import figures, value

    service = make_service(content)
    before = figures(METRICS.exposition().decode())
    with client_for(service) as client:
        page = to_signs(client, service.flow)
        item = service.flow.step("signs_1").items[0]
        submit(client, page, "done", (item, "a:none"))  # sent back: None of these with a tick
        assert client.get("/nowhere").status_code == 404
        assert client.post("/act", data={"csrf": "x", "token": "y", "action": "done"}).status_code == 400
        finish_check(client)
    after = figures(METRICS.exposition().decode())

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("cse_web_pages_total", step="danger") == 2  # two checks started
    # Shown, sent back, and shown again on the home page before the second check started.
    assert moved("cse_web_pages_total", step="signs_1") == 3
    assert moved("cse_web_pages_total", step="outcome") == 1
    assert moved("cse_web_checks_finished_total", level="emergency") == 1
    assert moved("cse_web_refused_total", reason="none_with_ticks") == 1
    assert moved("cse_web_refused_total", reason="not_found") == 1
    assert moved("cse_web_refused_total", reason="csrf") == 1
    # Labels are screen keys, levels and short reasons: never a path, a form value or a session.
    labels = {v for (name, lbls) in after if name.startswith("cse_web_") for _, v in lbls}
    assert labels and all(re.fullmatch(r"[a-z0-9_:-]{1,40}", v) for v in labels), labels


@pytest.mark.slow
def test_cse_triage_web_serves_its_figures_on_the_metrics_port_only(tmp_path: Path) -> None:
    import urllib.error
    import urllib.request

    from testkit.helpers import free_port
    from testkit.web_harness import WebServer

    port = free_port()
    server = WebServer(tmp_path, METRICS_PORT=str(port))
    server.start()
    try:
        server.get("/look/emergency")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:  # noqa: S310
            scraped = r.read().decode()
        assert 'cse_web_pages_total{step="look:emergency"} 1.0' in scraped
        with pytest.raises(urllib.error.HTTPError):  # not on the public page
            server.get("/metrics")
    finally:
        server.stop()


def test_the_page_files_come_compressed_and_are_kept_under_their_version(content: Content) -> None:
    """After the first page no screen fetches the design system again: its files are asked for
    under a versioned address, compressed, and cached for good; any other address revalidates."""
    with client_for(make_service(content)) as client:
        page = client.get("/").text
        css = re.search(r'href="(/static/ds\.css\?v=[0-9a-f]{12})"', page)
        assert css is not None
        kept = client.get(css.group(1), headers={"accept-encoding": "gzip"})
        assert kept.status_code == 200 and kept.headers["content-encoding"] == "gzip"
        assert kept.headers["cache-control"] == "public, max-age=31536000, immutable"
        plain = client.get("/static/ds.css?v=000000000000")
        assert plain.headers["cache-control"] == "no-cache"
        assert plain.text == kept.text  # the same file, decompressed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_one_form_leaves_the_check_as_telegrams_taps_would(content: Content, data: st.DataObject) -> None:
    """Any ticks sent with any button of a tick step leave the stored check exactly as the same
    taps one at a time in Telegram do (each toggle, then the button), "None of these" with a tick
    refused in both and the ticks kept; the web refusal says so."""
    web_service, tg_service = make_service(content), make_service(content)
    tg_service.channel = "telegram"
    flow = web_service.flow
    # Every tick step but the last (whose Done ends the check: the web keeps the outcome, Telegram
    # shows it and keeps nothing, so there is no stored check to compare).
    step = data.draw(st.sampled_from([s for s in flow.steps if s.kind == "multi"][:-1]), label="step")
    asked = flow.items(step, Conversation(answers={"age": "13_15"}))  # the items shown at 13 to 15
    before = data.draw(st.lists(st.sampled_from(asked), unique=True), label="ticked before")
    ticks = data.draw(st.lists(st.sampled_from(asked), unique=True), label="ticks sent")
    action = data.draw(st.sampled_from(["done", "a:none", "a:unsure", "back"]), label="button")

    async def run() -> tuple[dict[str, Any], dict[str, Any], str | None]:
        stored = []
        for service in (web_service, tg_service):
            key = web_key(SECRET, service.channel)
            reply = await service.start(key=key, update_id=None)
            for answer in ("a:no", "a:13_15", f"a:{flow.options(flow.step('service'))[0][0]}"):
                reply = await service.press(key=key, update_id=None, action=answer, token=reply.token)
            while reply.screen.key != step.id:
                reply = await service.press(key=key, update_id=None, action="done", token=reply.token)
            for item in before:
                reply = await service.press(key=key, update_id=None, action=f"t:{item}", token=reply.token)
            if service is web_service:
                assert reply.token is not None
                reply = await service.press(key=key, token=reply.token, action=action, ticks=ticks)
                refused = reply.refused
            else:
                for item in step.items:
                    if (item in ticks) != (item in before):
                        reply = await service.press(key=key, update_id=None, action=f"t:{item}", token=None)
                await service.press(key=key, update_id=None, action=action, token=None)
            ((record, _),) = service.store.rows.values()  # type: ignore[attr-defined]
            stored.append(record.data)
        return stored[0], stored[1], refused

    on_web, on_telegram, refused = asyncio.run(run())
    assert on_web == on_telegram
    assert (refused == "none_with_ticks") == (action == "a:none" and bool(ticks))


def test_the_draft_and_example_banners_are_warning_text_on_every_page(content: Content) -> None:
    service = make_service(content)
    service.draft = True  # a reviewer's preview (cse-triage web --draft)
    with client_for(service) as client:
        for page in (client.get("/").text, start(client), client.get("/look/contacts").text):
            warnings = re.findall(r'<div class="ds_warning-text">(.*?)</div>', page, flags=re.DOTALL)
            for banner in (content.texts.draft_banner, content.texts.example_contacts):
                words = banner.split(" ", 1)[1] if not banner[0].isalnum() else banner
                assert any(words in w for w in warnings), (banner, warnings)
