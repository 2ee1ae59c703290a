"""The web page in a real browser: Chromium from the OS packages, driven by Playwright, against
`cse-triage web` as a real process. One browser and one server for the module; pages reused.

Every expected word comes from the content file, never from the test.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from flows.contacts import EXAMPLE_CONTACTS, load_directory
from flows.machine import Flow
from flows.schema import Content
from testkit.web_harness import ARTIFACTS, WebServer, chromium

playwright_api = pytest.importorskip("playwright.async_api")
CHROMIUM = chromium()
if CHROMIUM is None and os.environ.get("CSE_REQUIRE_BROWSER") == "1":
    raise RuntimeError(
        "CSE_REQUIRE_BROWSER=1 but no Chromium: scripts/ensure-chromium.sh could not install it"
    )
pytestmark = [
    pytest.mark.slow,  # a real server process (restarted in one test) and a real browser
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium: run scripts/ensure-chromium.sh (apt-get)"),
]
Page = Any  # playwright.async_api.Page
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}
WAIT = 10_000  # ms: every wait in these tests ends at the event or at this deadline


@pytest.fixture(scope="module")
def flow(content: Content) -> Flow:
    """The flow as the server runs it: with the example contacts' services."""
    return Flow(content, load_directory(EXAMPLE_CONTACTS).services)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    srv = WebServer(tmp_path_factory.mktemp("wt16-web"))
    srv.start()
    yield srv
    srv.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        await b.close()


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Any, server: WebServer) -> AsyncIterator[Page]:
    """A fresh browser context (its own cookie jar) per test, on the module's one browser."""
    context = await browser.new_context(base_url=server.url, service_workers="block")
    context.set_default_timeout(WAIT)
    pg = await context.new_page()
    yield pg
    await context.close()


# -- helpers --------------------------------------------------------------------------------------
@contextlib.asynccontextmanager
async def without_javascript(browser: Any, server: WebServer) -> AsyncIterator[Page]:
    """A page in a fresh context with JavaScript off."""
    context = await browser.new_context(base_url=server.url, java_script_enabled=False)
    context.set_default_timeout(WAIT)
    try:
        yield await context.new_page()
    finally:
        await context.close()


def words(label: str) -> str:
    """A label as shown, without the leading symbol (hidden from screen readers)."""
    m = re.match(r"^[^\w\s]+\s+(.+)$", label)
    return m.group(1) if m else label


async def click(page: Page, label: str) -> None:
    """Press the button or link named ``label`` (content wording) in the page's main part."""
    await (
        page.locator("main")
        .get_by_role("button", name=words(label), exact=True)
        .or_(page.locator("main").get_by_role("link", name=words(label), exact=True))
        .first.click()
    )
    await page.wait_for_load_state()


async def heading(page: Page) -> str:
    return words((await page.locator("h1").inner_text()).strip())


async def tick(page: Page, content: Content, item: str) -> None:
    """Tick (or untick) an item's checkbox by its label: nothing is sent until a button is pressed."""
    await page.locator(f'label[for="t-{item}"]').click()


async def pressed(page: Page, item: str) -> str | None:
    """ "true" when the item's checkbox is ticked on the page as drawn, else "false"."""
    return "true" if await page.locator(f"#t-{item}").is_checked() else "false"


async def start(page: Page, content: Content) -> None:
    await page.goto("/")
    await click(page, content.texts.start_button)


async def walk_to(page: Page, content: Content, flow: Flow, step_id: str, *, age: str = "13_15") -> None:
    """From the first question to ``step_id`` by clicking: not in danger, an age, the first
    service, then "Done" with nothing ticked on every multi step before it."""
    await start(page, content)
    for step in flow.steps:
        if step.id == step_id:
            break
        if step.id == "danger":
            await click(page, dict(flow.options(step))["no"])
        elif step.id == "age":
            await click(page, dict(flow.options(step))[age])
        elif step.kind == "service":
            await click(page, flow.options(step)[0][1])
        elif step.kind == "multi":
            await click(page, content.multi_controls.done)
    assert await heading(page) == words(flow.step(step_id).title)


async def finish(page: Page, content: Content, flow: Flow | None = None) -> None:
    """Done on every remaining multi step, up to the outcome; a follow-up question (such as when
    an assault happened) gets its first option."""
    titles = {words(s.title): s for s in (flow.steps if flow is not None else [])}
    for _ in range(14):
        if await page.locator("body.outcome").count():
            return
        step = titles.get(await heading(page))
        if step is not None and step.kind == "single":
            await click(page, flow.options(step)[0][1] if flow is not None else "")
        else:
            await click(page, content.multi_controls.done)
    raise AssertionError("no outcome after 14 steps")


def advice_lines(content: Content) -> set[str]:
    """Every line of advice an outcome can show first, as shown (time frame, who answers now)."""
    routes = ("office", "out_of_hours", "gap")
    fills = [
        {"who_now": content.texts.who_now.at(r), "who_now_adult": content.texts.who_now_adult.at(r)}
        for r in routes
    ]
    todos = [
        todo
        for o in content.outcomes.values()
        for said in (o, *o.variants)
        for todo in (*said.do_now, *(said.do_now_out_of_hours or []))
    ]
    todos += [todo for add in content.addenda for todo in add.actions]
    return {todo.render(content.timeframes, fill) for todo in todos for fill in fills}


# -- the tests ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("level", "danger", "ticks"),
    [
        ("emergency", "yes", ()),
        ("urgent", "no", ("controlling_adult",)),
        ("concern", "no", ("missing",)),
        ("no_current_indicators", "no", ()),
    ],
)
async def test_a_whole_check_reaches_each_level_by_clicking(
    page: Page, content: Content, flow: Flow, level: str, danger: str, ticks: tuple[str, ...]
) -> None:
    await start(page, content)
    assert await heading(page) == words(flow.step("danger").title)
    await click(page, dict(flow.options(flow.step("danger")))[danger])
    if danger == "yes":
        alert = flow.step("danger_alert")
        assert await heading(page) == words(alert.title)
        await click(page, dict(flow.options(alert))["skip"])
    else:
        await click(page, dict(flow.options(flow.step("age")))["13_15"])
        await click(page, flow.options(flow.step("service"))[0][1])
        for step in flow.steps:
            if step.kind != "multi":
                continue
            assert await heading(page) == words(step.title)
            for item in ticks:
                if item in step.items:
                    await tick(page, content, item)
            picked = [i for i in ticks if i in step.items]
            if not picked:
                await tick(page, content, "none")
            await click(page, content.multi_controls.done)
    assert await page.locator("body.outcome").count() == 1
    assert await heading(page) == words(content.outcomes[level].title)
    assert await page.locator(f"body.level-{level}").count() == 1
    # 999 is one tap away, and every number on the outcome is a tel: link.
    assert await page.locator('header a[href="tel:999"]').count() == 1
    numbers = page.locator("main .contacts .tel")
    # The outcome leads with its first action and whom to call, with the number.
    lead = page.locator("main .cse-lead")
    assert await lead.locator(".cse-lead-first").inner_text() in advice_lines(content)
    assert await lead.locator("a.tel").count() == 1
    assert await numbers.count() > 0
    for i in range(await numbers.count()):
        href = await numbers.nth(i).get_attribute("href")
        assert href is not None and re.fullmatch(r"tel:\+?\d{3,15}", href), href


async def test_a_whole_check_works_with_javascript_off(
    browser: Any, server: WebServer, content: Content, flow: Flow
) -> None:
    async with without_javascript(browser, server) as pg:
        await walk_to(pg, content, flow, "signs_3")
        await tick(pg, content, "money_gifts")
        assert await pressed(pg, "money_gifts") == "true"
        await finish(pg, content)
        assert await heading(pg) == words(content.outcomes["concern"].title)
        # Without JavaScript the print button stays hidden and the page says how to print instead.
        assert await pg.locator(".js-print").is_hidden()
        assert await pg.get_by_text(content.texts.web.print_hint).is_visible()


async def test_the_outcome_links_every_number_from_the_contacts_file(
    page: Page, content: Content, flow: Flow
) -> None:
    await walk_to(page, content, flow, "vuln_2")
    await tick(page, content, "none")
    await click(page, content.multi_controls.done)
    directory = load_directory(EXAMPLE_CONTACTS)
    dialable = {
        line.phone: line.tel
        for role in ("police_999", "designated_person")
        for line in directory.resolve(role, service=flow.options(flow.step("service"))[0][0], now=_now())
    }
    links = {
        await a.inner_text(): await a.get_attribute("href") for a in await page.locator("main a.tel").all()
    }
    for phone, tel in dialable.items():
        if phone and tel:
            assert links.get(phone) == f"tel:{tel}", (phone, links)
    # Nothing on the page shows a number without its link.
    assert await page.locator("main span.tel").count() == 0


def _now() -> Any:
    import datetime as dt
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo("Europe/London"))


async def test_back_keeps_ticks_and_none_of_these_with_a_tick_is_refused_keeping_the_ticks(
    browser: Any, server: WebServer, content: Content, flow: Flow
) -> None:
    """The same rule as Telegram: "None of these" never clears a tick. With JavaScript off the
    server refuses the two together with an error summary and keeps the ticks; with it on,
    ticking one unticks the other (the design system's exclusive checkbox)."""
    mc, web = content.multi_controls, content.texts.web
    async with without_javascript(browser, server) as page:
        await walk_to(page, content, flow, "signs_1")
        await tick(page, content, "assault")
        await tick(page, content, "none")
        await click(page, mc.done)
        assert await heading(page) == words(flow.step("signs_1").title)
        summary = page.locator(".ds_error-summary")
        assert await summary.get_by_text(web.error_title).count() == 1
        assert await summary.get_by_role("link", name=web.none_with_ticks).count() == 1
        assert (await page.title()).startswith(web.error_prefix)
        assert await pressed(page, "assault") == "true"
        assert await pressed(page, "none") == "false"
        await click(page, mc.done)
        assert await heading(page) == words(flow.step("signs_2").title)
        await click(page, mc.back)
        assert await heading(page) == words(flow.step("signs_1").title)
        assert await pressed(page, "assault") == "true"
        assert await pressed(page, "disclosure") == "false"
    page = await (await browser.new_context(base_url=server.url, service_workers="block")).new_page()
    try:
        await walk_to(page, content, flow, "signs_1")
        await tick(page, content, "assault")
        await tick(page, content, "none")
        assert await pressed(page, "assault") == "false"
        await tick(page, content, "disclosure")
        assert await pressed(page, "none") == "false"
    finally:
        await page.context.close()


async def test_lookups_return_to_the_same_step_with_its_ticks(
    page: Page, content: Content, flow: Flow
) -> None:
    await walk_to(page, content, flow, "signs_3")
    await tick(page, content, "missing")
    await click(page, content.multi_controls.done)  # the ticks are sent with a button of the step
    await click(page, content.multi_controls.back)
    for name, label in content.texts.web.nav.items():
        await page.locator("nav.lookups").get_by_role("link", name=label, exact=True).click()
        await page.wait_for_load_state()
        assert page.url.endswith(f"/look/{name}")
        assert await page.locator('header a[href="tel:999"]').count() == 1
        await click(page, content.texts.continue_button)
        assert await heading(page) == words(flow.step("signs_3").title)
        assert await pressed(page, "missing") == "true"


async def test_the_check_resumes_after_a_server_restart(
    page: Page, server: WebServer, content: Content, flow: Flow
) -> None:
    await walk_to(page, content, flow, "signs_2")
    await tick(page, content, "sexual_images")
    await click(page, content.multi_controls.done)
    server.restart()
    await page.goto("/")
    assert await heading(page) == words(flow.step("signs_3").title)
    await click(page, content.multi_controls.back)
    assert await heading(page) == words(flow.step("signs_2").title)
    assert await pressed(page, "sexual_images") == "true"


async def test_a_second_browser_cannot_see_or_change_the_first_ones_check(
    page: Page, browser: Any, server: WebServer, content: Content, flow: Flow
) -> None:
    await walk_to(page, content, flow, "signs_1")
    await tick(page, content, "assault")
    await click(page, content.multi_controls.back)
    await click(page, flow.options(flow.step("service"))[0][1])
    token = await page.locator('input[name="token"]').first.get_attribute("value")
    # The session cookie is out of reach of scripts on the page.
    assert await page.evaluate("document.cookie") == ""
    other = await browser.new_context(base_url=server.url, service_workers="block")
    try:
        intruder = await other.new_page()
        await intruder.goto("/")
        assert await heading(intruder) == words(content.texts.welcome_title)
        await click(intruder, content.texts.start_button)
        own_csrf = await intruder.locator('input[name="csrf"]').first.get_attribute("value")
        first_csrf = await page.locator('input[name="csrf"]').first.get_attribute("value")

        async def post(csrf: str | None) -> int:
            form = {"csrf": csrf or "", "token": token or "", "action": "done", "tick": "disclosure"}
            answer = await other.request.post(
                f"{server.url}/act", form=form, headers={"origin": server.url}, max_redirects=0
            )
            return int(answer.status)

        # The first check's token with the second browser's own cookie and form token: "this
        # check has ended" (its own check is not stored before its first answer).
        assert await post(own_csrf) == 200
        # The first browser's form token is refused in the second browser.
        assert await post(first_csrf) == 400
        await intruder.goto("/")
        assert await heading(intruder) == words(content.texts.welcome_title)
    finally:
        await other.close()
    await page.goto("/")
    assert await heading(page) == words(flow.step("signs_1").title)
    assert await pressed(page, "assault") == "true"


async def test_a_whole_check_by_keyboard_alone(page: Page, content: Content, flow: Flow) -> None:
    async def press(name: str) -> None:
        target = words(name)
        for _ in range(80):
            await page.keyboard.press("Tab")
            focused = await page.evaluate(
                "() => { const e = document.activeElement;"
                " return e ? [e.innerText.trim(), getComputedStyle(e).outlineStyle,"
                " getComputedStyle(e).boxShadow, getComputedStyle(e).filter] : ['', '', '', ''] }"
            )
            if target in [words(line.strip()) for line in focused[0].splitlines()]:
                # The design system draws focus as an outline, or a yellow fill with a thick shadow.
                assert focused[1:] != ["none"] * 3, f"no visible focus on {target!r}"
                async with page.expect_navigation():
                    await page.keyboard.press("Enter")
                return
        raise AssertionError(f"{target!r} not reachable by Tab")

    await page.goto("/")
    await press(content.texts.start_button)
    await press(dict(flow.options(flow.step("danger")))["no"])
    await press(dict(flow.options(flow.step("age")))["16_17"])
    await press(flow.options(flow.step("service"))[0][1])
    for _ in range(40):  # tick by keyboard: Tab to the checkbox, then Space
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.id") == "t-disclosure":
            break
    box = "getComputedStyle(document.activeElement.nextElementSibling, '::before').boxShadow"
    assert await page.evaluate(box) != "none", "no visible focus on the checkbox"
    await page.keyboard.press("Space")
    assert await pressed(page, "disclosure") == "true"
    for _ in range(6):
        await press(content.multi_controls.done)
    assert await page.locator("body.outcome").count() == 1
    assert await heading(page) == words(content.outcomes["urgent"].title)


async def test_no_serious_or_critical_accessibility_violations_on_any_page(
    page: Page, server: WebServer, content: Content, flow: Flow
) -> None:
    from axe_playwright_python.async_playwright import Axe

    axe = Axe()
    seen: dict[str, list[str]] = {}

    async def scan(name: str) -> None:
        results = await axe.run(page, options=AXE_OPTIONS)
        bad = [
            f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        # The error summary's title comes before the h1 (the design system's pattern: it is read
        # first); every other heading follows the one h1.
        levels = await page.evaluate(
            "[...document.querySelectorAll('h1,h2,h3,h4')]"
            ".filter(h => !h.closest('.ds_error-summary')).map(h => +h.tagName[1])"
        )
        if not levels or levels[0] != 1 or levels.count(1) != 1:
            bad.append(f"headings: one h1 first, got {levels}")
        bad += [
            f"heading skips a level: {a} -> {b}"
            for a, b in zip(levels, levels[1:], strict=False)
            if b > a + 1
        ]
        seen[name] = bad

    await page.goto("/")
    await scan("welcome")
    await click(page, content.texts.start_button)
    await scan("danger")
    await click(page, dict(flow.options(flow.step("danger")))["unsure"])
    await scan("danger_alert")
    await click(page, dict(flow.options(flow.step("danger_alert")))["continue"])
    await scan("age")
    await click(page, dict(flow.options(flow.step("age")))["under_13"])
    await scan("service")
    await click(page, flow.options(flow.step("service"))[0][1])
    await tick(page, content, "assault")
    await scan("multi step, ticked")
    await tick(page, content, "none")
    await page.evaluate("document.querySelector('#t-assault').checked = true")  # as with JavaScript off
    await click(page, content.multi_controls.done)
    await scan("multi step, refused with an error")
    await click(page, content.multi_controls.done)
    await finish(page, content, flow)
    await scan("outcome")
    await click(page, content.texts.feedback_button)
    await scan("feedback thanks")
    for name in content.texts.web.nav:
        await page.goto(f"/look/{name}")
        await scan(f"lookup {name}")
    for path in ("/quick-reference", "/no-such-page", "/?name=x"):
        await page.goto(path)
        await scan(path)
    assert {k: v for k, v in seen.items() if v} == {}
    assert len(seen) >= 20


async def test_the_outcome_fits_320_px_and_is_kept_as_a_screenshot(
    page: Page, content: Content, flow: Flow
) -> None:
    await page.set_viewport_size({"width": 320, "height": 640})
    await walk_to(page, content, flow, "signs_1")
    await tick(page, content, "assault")
    await finish(page, content, flow)  # assault in the last 7 days: act now
    assert await heading(page) == words(content.outcomes["act_now"].title)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 320, f"the outcome scrolls sideways at 320 px ({width} px wide)"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "outcome-320px.png"
    await page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    # Print view: the page's own print styles hide the navigation and the buttons.
    await page.emulate_media(media="print")
    assert not await page.locator("nav.lookups").is_visible()
    assert await page.locator("main .contacts").first.is_visible()


async def test_the_outcome_survives_a_reload_and_copies_its_read_out_as_plain_text(
    browser: Any, server: WebServer, content: Content, flow: Flow
) -> None:
    context = await browser.new_context(
        base_url=server.url, service_workers="block", permissions=["clipboard-read", "clipboard-write"]
    )
    context.set_default_timeout(WAIT)
    try:
        page = await context.new_page()
        await walk_to(page, content, flow, "signs_3")
        await tick(page, content, "missing")
        await finish(page, content, flow)
        title = words(content.outcomes["concern"].title)
        assert await heading(page) == title
        await page.reload()  # or the phone evicted the tab
        assert await heading(page) == title
        await click(page, content.texts.web.copy_button)
        await page.get_by_role("status").get_by_text(content.texts.web.copied).wait_for()
        copied = (await page.evaluate("navigator.clipboard.readText()")).splitlines()
        w = content.summary
        age = dict(flow.options(flow.step("age")))["13_15"]
        assert copied[1:] == [
            w.lead,
            f"{w.age_label}: {age}",
            f"{w.level_label}: {content.outcomes['concern'].title}",
            f"{w.indicators_label}: {content.item('missing').label}",
            f"{w.factors_label}: {w.nothing}",
        ]
        assert words(copied[0]) == words(w.title)
        # "Clear and start again" ends it: the next page is a new check's first question.
        await click(page, content.texts.web.clear_start)
        await page.reload()
        assert await heading(page) == words(flow.step("danger").title)
    finally:
        await context.close()


async def test_emergency_contacts_and_quick_reference_work_offline(
    browser: Any, server: WebServer, content: Content
) -> None:
    context = await browser.new_context(base_url=server.url)  # service workers allowed here
    context.set_default_timeout(WAIT)
    try:
        pg = await context.new_page()
        await pg.goto("/")
        await pg.evaluate("navigator.serviceWorker.ready.then(() => true)")
        await pg.reload()  # now controlled by the service worker
        await pg.wait_for_function("navigator.serviceWorker.controller !== null")
        await pg.goto("/look/contacts")  # the contacts page as last seen
        await context.set_offline(True)
        for path, title in (
            ("/look/emergency", content.texts.emergency_title),
            ("/look/contacts", content.texts.contacts_title),
        ):
            await pg.goto(path)
            assert await heading(pg) == words(title)
            assert await pg.locator("p.as-of").count() == 1
            assert await pg.locator('a[href="tel:999"]').count() >= 1
        await pg.goto("/quick-reference")
        assert "999" in await pg.locator("body").inner_text()
        assert await pg.locator("text=" + content.texts.web.as_of.split("{")[0].strip()).count() >= 1
        # Any other page offline falls back to the emergency page.
        await pg.goto("/look/about")
        assert await heading(pg) == words(content.texts.emergency_title)
    finally:
        await context.set_offline(False)
        await context.close()


async def test_identifying_text_in_the_address_or_a_forged_field_is_refused_and_kept_nowhere(
    page: Page, server: WebServer, content: Content, flow: Flow
) -> None:
    secret = "Zebedee Quartermaine"
    await walk_to(page, content, flow, "signs_1")
    before = await heading(page)
    for path in (f"/?child={secret}", f"/look/{secret}", f"/look/contacts?name={secret}"):
        answer = await page.goto(path)
        assert answer is not None and answer.status in (400, 404)
        assert await page.locator('header a[href="tel:999"]').count() == 1
        assert await page.locator("main .contacts a.tel").count() >= 1  # the designated contact
    csrf = await _csrf(page)
    token = (
        await page.locator('input[name="token"]').first.get_attribute("value") if await page.goto("/") else ""
    )
    for form in (
        {"csrf": csrf, "token": token or "", "action": "done", "tick": "assault", "name": secret},
        {"csrf": csrf, "token": token or "", "action": secret},
        {"csrf": csrf, "token": secret, "action": "done", "tick": "assault"},
        {"csrf": csrf, "token": token or "", "action": "done", "tick": secret},
        {"csrf": csrf, "token": token or "", "action": "t:assault"},
    ):
        answer = await page.request.post(f"{server.url}/act", form=form, headers={"origin": server.url})
        assert answer.status == 400
        body = await answer.text()
        assert 'href="tel:999"' in body and secret not in body
    await page.goto("/")
    assert await heading(page) == before
    assert await pressed(page, "assault") == "false"  # nothing changed
    found = _leaks(server, (secret, "Zebedee", "127.0.0.1", "HeadlessChrome", "Mozilla"))
    assert found == []


async def _csrf(page: Page) -> str:
    await page.goto("/")
    return await page.locator('input[name="csrf"]').first.get_attribute("value") or ""


def _leaks(server: WebServer, needles: tuple[str, ...]) -> list[str]:
    """Where any needle appears: the database's rows (and raw file bytes) and the server log."""
    found: list[str] = []
    with sqlite3.connect(server.db) as conn:
        dump = "\n".join(conn.iterdump())
    raw = b"".join(p.read_bytes() for p in Path(server.db).parent.glob(Path(server.db).name + "*"))
    # The one start-up line naming where it listens is the server's own address, not a visitor's.
    log = "\n".join(
        line
        for line in server.log.read_text(errors="replace").splitlines()
        if not line.startswith("The check is on http://127.0.0.1:")
    )
    for needle in needles:
        if needle in dump or needle.encode() in raw:
            found.append(f"database: {needle}")
        if needle in log:
            found.append(f"log: {needle}")
    return found
