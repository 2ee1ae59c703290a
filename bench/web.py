"""The web page on a phone: a whole check in Chromium at 375 × 740, on a slow mobile link.

``cse-triage web`` runs as a real process on 127.0.0.1 (a SQLite file, the example contacts);
Chromium from the OS packages, driven by Playwright, walks a typical concern (not in danger, 13 to
15, the first service, one other sign ticked on the third tick step, nothing else) with the network
throttled through the DevTools protocol (``Network.emulateNetworkConditions``: 400 kbit/s each
way, 400 ms round trip). For each screen: bytes over the wire (compressed as sent), HTTP requests
and new connections, the time from the tap to the next page's load event, the page's height and
where the step's main button ends, and whether the page scrolls sideways at 320 px or at 200%
zoom on the phone (187 CSS px). The same HTML, saved from each screen, is then served as static
files by Python's own HTTP server and loaded the same way: the time for a page that does nothing.
Taps count every press of a checkbox or button from the welcome page to the outcome.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import http.server
import os
import shutil
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flows.contacts import EXAMPLE_CONTACTS, load_directory
from flows.machine import Flow
from flows.schema import load_content

if TYPE_CHECKING:
    from playwright.async_api import ViewportSize

ROOT = Path(__file__).resolve().parents[1]
PHONE: ViewportSize = {"width": 375, "height": 740}
LINK = {"latency_ms": 400, "kbit_s": 400}
GOAL_FIRST_PAGE_KB = 50.0
GOAL_SCREENS = 1.5  # a five-item step's main button within this many screen heights
GOAL_TAPS = 12
GOAL_EXCHANGES = 1  # one POST (and its redirect to the page) per screen, nothing else
TIMEOUT_MS = 60_000


@dataclass
class Screen:
    """One screen of the walk, as the phone saw it."""

    name: str
    taps: int = 0
    requests: int = 0
    posts: int = 0
    connections: int = 0
    bytes: int = 0
    ms: float = 0.0
    height: int = 0
    button_bottom: int = 0
    overflow_320: bool = False
    overflow_zoom: bool = False
    html: str = ""
    static_ms: float = 0.0
    kinds: dict[str, int] = field(default_factory=dict)


class Wire:
    """What the DevTools protocol reports about the network: the requests that reached the
    server (a response not from a cache, the redirect included), their bytes, what they were."""

    def __init__(self) -> None:
        self.requests = 0
        self.posts = 0
        self.bytes = 0
        self.connections: set[int] = set()
        self.kinds: dict[str, int] = {}
        self._cached: set[str] = set()
        self._types: dict[str, str] = {}

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]

    def sent(self, event: dict[str, Any]) -> None:
        if event["request"]["method"] == "POST":
            self.posts += 1
        path = event["request"]["url"].split("/", 3)[-1]
        self._types[event["requestId"]] = f"{event.get('type', 'Other')} {path}"
        redirect = event.get("redirectResponse")
        if redirect:
            self._answered(event["requestId"], redirect, "redirect")

    def cached(self, event: dict[str, Any]) -> None:
        self._cached.add(event["requestId"])

    def received(self, event: dict[str, Any]) -> None:
        if event["requestId"] not in self._cached:
            kind = self._types.get(event["requestId"], "other")
            self._answered(event["requestId"], event["response"], kind)

    def _answered(self, request_id: str, response: dict[str, Any], kind: str) -> None:
        if any(response.get(f) for f in ("fromDiskCache", "fromServiceWorker", "fromPrefetchCache")):
            return
        self.requests += 1
        self.connections.add(int(response.get("connectionId", 0)))
        kind = kind.split("?")[0]
        self.kinds[kind] = self.kinds.get(kind, 0) + 1

    def finished(self, event: dict[str, Any]) -> None:
        self.bytes += int(event.get("encodedDataLength", 0))


async def _throttled(context: Any, page: Any, wire: Wire | None, throttle: bool = True) -> Any:
    cdp = await context.new_cdp_session(page)
    await cdp.send("Network.enable")
    rate = LINK["kbit_s"] * 1000 / 8  # bytes per second
    if throttle:
        await cdp.send(
            "Network.emulateNetworkConditions",
            {
                "offline": False,
                "latency": LINK["latency_ms"],
                "downloadThroughput": rate,
                "uploadThroughput": rate,
            },
        )
    if wire is not None:
        cdp.on("Network.requestWillBeSent", wire.sent)
        cdp.on("Network.requestServedFromCache", wire.cached)
        cdp.on("Network.responseReceived", wire.received)
        cdp.on("Network.loadingFinished", wire.finished)
    return cdp


async def _layout(page: Any, main_button: str | None) -> tuple[int, int, bool, bool]:
    """Page height, the bottom of the main button (0 if none), and sideways scrolling at 320 px
    and at 200% zoom on the phone; the viewport is put back to the phone's afterwards."""
    height = int(await page.evaluate("document.documentElement.scrollHeight"))
    bottom = 0
    if main_button is not None:
        box = await page.evaluate(
            "sel => { const e = document.querySelector(sel); if (!e) return 0;"
            " const r = e.getBoundingClientRect(); return r.bottom + window.scrollY; }",
            main_button,
        )
        bottom = int(box)
    overflow = []
    for width in (320, PHONE["width"] // 2):
        await page.set_viewport_size({"width": width, "height": PHONE["height"] // 2})
        wide = int(await page.evaluate("document.documentElement.scrollWidth"))
        overflow.append(wide > width)
    await page.set_viewport_size(PHONE)
    return height, bottom, overflow[0], overflow[1]


async def walk(base_url: str, chromium: str, throttle: bool = True) -> list[Screen]:
    """A typical concern from the welcome page to the outcome, screen by screen."""
    from playwright.async_api import async_playwright

    content = load_content()
    flow = Flow(content, load_directory(EXAMPLE_CONTACTS).services)
    screens: list[Screen] = []
    wire = Wire()
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        context = await browser.new_context(base_url=base_url, viewport=PHONE, service_workers="block")
        context.set_default_timeout(TIMEOUT_MS)
        page = await context.new_page()
        await _throttled(context, page, wire, throttle)

        async def screen(name: str, taps: int, go: Any, main_button: str | None) -> None:
            wire.reset()
            started = time.perf_counter()
            response = await go()
            await page.wait_for_load_state("load")
            ms = (time.perf_counter() - started) * 1000
            if not screens:  # the first page's icon is fetched after its load event
                await page.wait_for_load_state("networkidle")
            html = await response.text() if response is not None else await page.content()
            height, bottom, o320, ozoom = await _layout(page, main_button)
            screens.append(
                Screen(
                    name,
                    taps,
                    wire.requests,
                    wire.posts,
                    len(wire.connections),
                    wire.bytes,
                    ms,
                    height,
                    bottom,
                    o320,
                    ozoom,
                    html,
                    kinds=dict(wire.kinds),
                )
            )

        async def press(value: str, ticks: tuple[str, ...] = ()) -> Any:
            for item in ticks:
                await page.locator(f'label[for="t-{item}"]').click()
            async with page.expect_navigation() as nav:
                await page.locator(f'main button[value="{value}"]').first.click()
            return await nav.value

        await screen("welcome (first visit)", 0, lambda: page.goto("/"), 'main button[value="start"]')
        await screen("danger", 1, lambda: press("start"), None)
        await screen("age", 1, lambda: press("a:no"), None)
        await screen("service", 1, lambda: press("a:13_15"), None)
        service = f"a:{flow.options(flow.step('service'))[0][0]}"
        first_multi = next(s for s in flow.steps if s.kind == "multi")
        await screen(first_multi.id, 1, lambda: press(service), 'main button[value="done"]')
        multis = [s for s in flow.steps if s.kind == "multi"]
        for step, following in zip(multis, [*multis[1:], None], strict=True):
            ticks = ("missing",) if "missing" in step.items else ()
            name = following.id if following is not None else "outcome"
            # On the outcome: where the first number to call ends (the outcome's lead).
            button = 'main button[value="done"]' if following is not None else "main .cse-lead a.tel"
            await screen(
                name,
                len(ticks) + 1,
                functools.partial(press, "done", ticks),
                button,  # type: ignore[arg-type]
            )
        await context.close()
        await browser.close()
    return screens


async def static_times(screens: list[Screen], chromium: str, throttle: bool = True) -> None:
    """Each screen's HTML as a static file on Python's own HTTP server, loaded on the same link
    with the design system's files already cached (as they are after the first page)."""
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory(prefix="cse-static-") as tmp:
        folder = Path(tmp)
        shutil.copytree(ROOT / "bot" / "web" / "static", folder / "static")
        for i, s in enumerate(screens):
            (folder / f"{i}.html").write_text(s.html, encoding="utf-8")
        handler = functools.partial(_Quiet, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
                context = await browser.new_context(viewport=PHONE, service_workers="block")
                context.set_default_timeout(TIMEOUT_MS)
                page = await context.new_page()
                base = f"http://127.0.0.1:{server.server_address[1]}"
                await page.goto(f"{base}/0.html")  # the design system's files into the cache
                await _throttled(context, page, None, throttle)
                for i, s in enumerate(screens):
                    started = time.perf_counter()
                    await page.goto(f"{base}/{i}.html", wait_until="load")
                    s.static_ms = (time.perf_counter() - started) * 1000
                await context.close()
                await browser.close()
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)


def _cpu_seconds(pid: int) -> float:
    """A process's CPU time so far (user + system), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *_args: Any) -> None:  # no request lines on the bench's output
        return


def measure(workdir: Path, chromium: str, *, throttle: bool = True) -> dict[str, Any]:
    """Every web figure, as a JSON-ready dict (``throttle`` False: the link at full speed, for
    the smoke test)."""
    from testkit.web_harness import WebServer

    server = WebServer(workdir)
    server.start()
    try:
        assert server.proc is not None
        cpu_before = _cpu_seconds(server.proc.pid)
        screens = asyncio.run(walk(server.url, chromium, throttle))
        cpu = _cpu_seconds(server.proc.pid) - cpu_before
    finally:
        server.stop()
    asyncio.run(static_times(screens, chromium, throttle))
    steps = screens[1:]  # every screen reached by a tap
    content = load_content()
    five = [s for s in steps if s.name in {t.id for t in content.steps if len(t.items) == 5}]
    report: dict[str, Any] = {
        "link": LINK if throttle else None,
        "phone": PHONE,
        "screens": [
            {
                **{k: v for k, v in s.__dict__.items() if k != "html"},
                "html_gz": len(gzip.compress(s.html.encode())),
            }
            for s in screens
        ],
        "first_page_kb": screens[0].bytes / 1024,
        "taps": sum(s.taps for s in screens),
        "requests": sum(s.requests for s in steps),
        "posts": sum(s.posts for s in steps),
        "max_requests_per_screen": max(s.requests for s in steps),
        "max_posts_per_screen": max(s.posts for s in steps),
        "median_step_ms": statistics.median(s.ms for s in steps),
        "median_static_ms": statistics.median(s.static_ms for s in steps),
        "five_item_button_screens": max(s.button_bottom for s in five) / PHONE["height"] if five else 0.0,
        "overflow": [s.name for s in screens if s.overflow_320 or s.overflow_zoom],
        "outcome_number_px": screens[-1].button_bottom,
        # The server's CPU (user + system) for the whole walk, per screen reached by a tap: the
        # POST (one store transaction) and the page after its redirect (one read), rendering included.
        "server_cpu_ms_per_step": cpu * 1000 / len(steps),
        "outcome_height_px": screens[-1].height,
    }
    report["goals"] = goals(report)
    return report


def goals(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "goal": f"{GOAL_EXCHANGES} exchange per screen: one POST, answered by a redirect to the page "
            "(2 requests), none per tick, no asset fetched again",
            "figure": f"at most {report['max_posts_per_screen']} POST and "
            f"{report['max_requests_per_screen']} requests per screen ({report['requests']} in all)",
            "met": report["max_posts_per_screen"] <= GOAL_EXCHANGES
            and report["max_requests_per_screen"] <= 2,
        },
        {
            "goal": f"first page under {GOAL_FIRST_PAGE_KB:g} KB compressed",
            "figure": f"{report['first_page_kb']:.1f} KB",
            "met": report["first_page_kb"] < GOAL_FIRST_PAGE_KB,
        },
        {
            "goal": f"a five-item screen's main button within {GOAL_SCREENS:g} screen heights at 375 × 740",
            "figure": f"{report['five_item_button_screens']:.2f} screen heights",
            "met": 0 < report["five_item_button_screens"] <= GOAL_SCREENS,
        },
        {
            "goal": f"a typical concern in {GOAL_TAPS} taps or fewer",
            "figure": f"{report['taps']} taps",
            "met": report["taps"] <= GOAL_TAPS,
        },
        {
            "goal": "no sideways scrolling at 320 px or at 200% zoom on the phone",
            "figure": ", ".join(report["overflow"]) or "none scrolls sideways",
            "met": not report["overflow"],
        },
    ]


def table(report: dict[str, Any]) -> list[str]:
    """The web section of the benchmark's table."""
    link = report["link"]
    speed = f"{link['kbit_s']} kbit/s and {link['latency_ms']} ms round trip" if link else "unthrottled"
    lines = [
        "",
        f"web page on a phone ({report['phone']['width']} × {report['phone']['height']}, Chromium, {speed})",
        f"  {'screen':<28}{'taps':>5}{'requests':>9}{'KB':>7}{'page gz':>8}{'ms':>7}{'static ms':>10}"
        f"{'height':>8}{'button':>8}",
    ]
    for s in report["screens"]:
        lines.append(
            f"  {s['name']:<28}{s['taps']:>5}{s['requests']:>9}{s['bytes'] / 1024:>7.1f}"
            f"{s['html_gz'] / 1024:>8.1f}{s['ms']:>7.0f}{s['static_ms']:>10.0f}{s['height']:>8}"
            f"{s['button_bottom'] or '':>8}"
        )
    lines.append(
        f"  whole check: {report['taps']} taps, {report['requests']} requests ({report['posts']} POST); "
        f"step median {report['median_step_ms']:.0f} ms against {report['median_static_ms']:.0f} ms "
        "for the same HTML as a static file"
    )
    lines.append(
        f"  server CPU per step (POST and the page after it): {report['server_cpu_ms_per_step']:.1f} ms"
    )
    lines.append(
        "  (KB: bytes over the wire, the design system's files gzip-compressed, the pages as they are"
        " (they hold a form token); page gz: the page alone compressed; button: where the step's"
        " main button ends, px from the top; on the"
        f" outcome the first number to call: {report['outcome_number_px']} of"
        f" {report['outcome_height_px']} px)"
    )
    return lines
