"""The web page's pages: a screen drawn into the one template (Scottish Government Design System),
the safety page for anything that went wrong, and the page's own files (styles, script, icon),
served compressed and cached for good under their version."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import jinja2
from markupsafe import escape
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

from bot.metrics import METRICS
from bot.service import LAST_RESORT, CheckService, Token
from bot.web.session import Session, Sessions, Tickets
from bot.web.view import page_of, split_symbol
from flows.screens import LOOKUPS, Screen

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
ASSETS = ("ds.css", "app.js", "icon.svg")
WEB_LOOKUPS = tuple(n for n in LOOKUPS if n != "help")  # /help lists Telegram commands
OFFLINE_PAGES = ("/look/emergency", "/look/contacts", "/quick-reference")


def assets_version(folder: Path) -> str:
    """A short hash of the page's own files: their URLs carry it (``?v=``), so a browser keeps
    them for good and an upgrade that changes one changes every URL."""
    digest = hashlib.sha256()
    for name in ASSETS:
        digest.update((folder / name).read_bytes())
    return digest.hexdigest()[:12]


class Assets:
    """The static files, compressed (gzip) for a browser that accepts it, and cached for a year
    when asked for under the current version (``?v=``): after the first page no screen fetches
    or revalidates them. Under any other address they are revalidated every time (no-cache)."""

    def __init__(self, folder: Path, version: str) -> None:
        self.app = GZipMiddleware(StaticFiles(directory=folder), minimum_size=500)
        self.current = b"v=" + version.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        forever = scope.get("query_string", b"") == self.current
        cache = b"public, max-age=31536000, immutable" if forever else b"no-cache"

        async def with_cache(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"cache-control", cache)]
            await send(message)

        await self.app(scope, receive, with_cache)


class Pages:
    """Draws the pages of one :class:`CheckService` (channel "web")."""

    def __init__(self, service: CheckService, sessions: Sessions, tickets: Tickets) -> None:
        self.service = service
        self.sessions = sessions
        self.tickets = tickets
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self.env.filters["symbol"] = lambda s: split_symbol(s)[0]
        self.env.filters["words"] = lambda s: split_symbol(s)[1]
        self.assets = assets_version(HERE / "static")

    def render(
        self,
        screen: Screen,
        session: Session,
        *,
        token: Token | None = None,
        status: int = 200,
        in_check: bool = False,
        path: str = "",
        title: str | None = None,
        error: str = "",
    ) -> HTMLResponse:
        web = self.service.flow.content.texts.web
        page = page_of(
            self.tickets.issue(screen, session.sid),
            self.service.flow.content,
            token=f"{token.check_id}.{token.version}" if token else "",
            fallback_title=title or web.notice_title,
            error=error,
        )
        html = self.env.get_template("page.html").render(
            page=page,
            web=web,
            site=self.service.flow.content.texts.welcome_title,
            csrf=self.sessions.csrf(session),
            nav=[(f"/look/{n}", label) for n, label in web.nav.items() if n in WEB_LOOKUPS],
            in_check=in_check,
            as_of=self.as_of() if path in OFFLINE_PAGES else "",
            current=path,
            asset=f"?v={self.assets}",
        )
        METRICS.web_pages.labels(screen.key).inc()
        return HTMLResponse(html, status_code=status)

    def as_of(self) -> str:
        when = self.service.clock().strftime("%d %B %Y, %H:%M")
        return self.service.flow.content.texts.web.as_of.format(when=when)

    def safety(
        self, session: Session, *, status: int, text: str | None = None, error: BaseException | None = None
    ) -> HTMLResponse:
        """999 and the designated contact, from memory (:meth:`CheckService.failure_screen`): the
        page for anything that went wrong (a refused request is titled as such; a failure is
        titled "who to call"). If even the page cannot be built: the one last-resort text."""
        title = self.service.flow.content.texts.web.bad_request_title if status in (400, 404, 413) else None
        try:
            screen = self.service.failure_screen(error, text=text)
            return self.render(screen, session, status=status, title=title)
        except Exception as err:  # noqa: BLE001 - even the template failing must leave 999
            log.error("web: safety page failed: %s", type(err).__name__)
            return HTMLResponse(
                '<!doctype html><html lang="en-GB"><title>999</title><h1>Call 999</h1>'
                f'<p>{escape(LAST_RESORT)}</p><p><a href="tel:999">999</a></p></html>',
                status_code=status,
            )
