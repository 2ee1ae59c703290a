"""The check on the web: a third thin front end over :class:`bot.service.CheckService`.

One question per page, plain HTML forms (POST, then redirect to GET), no JavaScript needed. The
check is the same store row as in Telegram, keyed by an HMAC of a random session id that lives in
one cookie (bot/web/session.py). Anything unexpected gets a 400 page that changes nothing and still
shows 999 and the designated contact; any failure (the database down) gets the same safety net
from memory. The headers every response carries are in bot/web/security.py; serving in
bot/web/server.py.

Nothing from a request (path, query, form values, cookie, address, user agent) is ever logged:
only the name of an error's type.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import escape
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

from bot.metrics import METRICS
from bot.service import INVALID, LAST_RESORT, NONE_WITH_TICKS, CheckService, Duplicate, Reply, Token
from bot.web.security import CSP, BadRequest, PerMinute, SecurityHeaders
from bot.web.session import Session, Sessions, Tickets
from bot.web.view import NONE, page_of, split_symbol
from flows.reference import quick_reference_html
from flows.screens import LOOKUPS, Screen

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
CHECK_TOKEN = re.compile(r"^([A-Za-z0-9_-]{1,16})\.(\d{1,9})$")
FEEDBACK = re.compile(
    r"^(?P<code>\d{1,2}_[0-9a-f]{1,8})\.(?P<minute>\d{1,9})\.(?P<nonce>[A-Za-z0-9_-]{12})\.(?P<mac>[0-9a-f]{16})$"
)
WEB_LOOKUPS = tuple(n for n in LOOKUPS if n != "help")  # /help lists Telegram commands
REASON = re.compile(r"^[a-z][a-z -]{0,30}$")  # BadRequest's short reasons, as a metrics label
MAX_TICKS = 32  # more ticks than any step has items (and "None of these") is not one of our forms
OFFLINE_PAGES = ("/look/emergency", "/look/contacts", "/quick-reference")


ASSETS = ("ds.css", "app.js", "icon.svg")


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


class WebApp:
    """The routes, over one :class:`CheckService` (channel "web")."""

    def __init__(
        self, service: CheckService, *, secret: bytes, ttl_hours: int, new_checks_per_minute: int = 60
    ) -> None:
        self.service = service
        self.sessions = Sessions(secret, ttl_hours * 3600)
        self.tickets = Tickets(secret)
        self.new_checks = PerMinute(new_checks_per_minute, "new web checks")
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self.env.filters["symbol"] = lambda s: split_symbol(s)[0]
        self.env.filters["words"] = lambda s: split_symbol(s)[1]
        self.assets = assets_version(HERE / "static")

    # -- sessions (bot/web/session.py) -----------------------------------------------------------
    def _key(self, sid: str) -> str:
        return self.sessions.key(sid)

    def session(self, request: Request) -> Session:
        return self.sessions.read(request)

    def _set_cookie(self, response: Response, request: Request, sid: str) -> None:
        self.sessions.set_cookie(response, request, sid)

    async def form(
        self, request: Request, fields: set[str], *, new_allowed: bool = False
    ) -> tuple[Session, FormData]:
        return await self.sessions.form(request, fields, new_allowed=new_allowed)

    # -- pages ------------------------------------------------------------------------------------
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
            as_of=self._as_of() if path in OFFLINE_PAGES else "",
            current=path,
            asset=f"?v={self.assets}",
        )
        METRICS.web_pages.labels(screen.key).inc()
        return HTMLResponse(html, status_code=status)

    def _as_of(self) -> str:
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

    def _page(self, reply: Reply, session: Session) -> Response:
        return self.render(reply.screen, session, token=reply.token)

    # -- routes -------------------------------------------------------------------------------------
    async def home(self, request: Request) -> Response:
        if request.query_params:
            raise BadRequest("query")
        session = self.session(request)
        if session.sid is not None:
            reply = await self.service.current(key=self._key(session.sid), update_id=None)
            if reply is not None:
                return self.render(reply.screen, session, token=reply.token)
        # No check stored for this value: it is never adopted (a new id comes with Start).
        return self.render(self.service.welcome(), Session(None))

    async def start(self, request: Request) -> Response:
        """A new check under a new session id, every time (a planted or earlier id never carries
        on). The first question is shown at once and stored nowhere: the row is written with
        the first answer (:meth:`act`), so a start alone adds nothing to the store or the figures.
        A check left open under the old id is stopped (abandoned, if it had an answer)."""
        session, _ = await self.form(request, {"csrf", "action"}, new_allowed=True)
        if session.sid is not None:
            await self.service.cancel(key=self._key(session.sid), update_id=None)
        return self._first_question(request)

    def _first_question(self, request: Request) -> Response:
        response = RedirectResponse("/new", status_code=303)
        self._set_cookie(response, request, self.sessions.new_id())
        return response

    async def new(self, request: Request) -> Response:
        """The first question of the check just started (:meth:`start`), stored nowhere yet; a
        reload shows it again. With no session, or a check already stored: the home page."""
        if request.query_params:
            raise BadRequest("query")
        session = self.session(request)
        if session.sid is None or await self.service.current(key=self._key(session.sid), update_id=None):
            return RedirectResponse("/", status_code=303)
        reply = self.service.first_step(self.sessions.check_id(session.sid))
        return self.render(reply.screen, session, token=reply.token)

    async def act(self, request: Request) -> Response:
        """A step's one form: the ticks and the button pressed, applied in one store transaction
        (:meth:`CheckService.submit`), then a redirect to the page, which reads the check once."""
        session, form = await self.sessions.form(
            request, {"csrf", "token", "action"}, repeated="tick", most=MAX_TICKS
        )
        action, token = str(form["action"]), CHECK_TOKEN.match(str(form["token"]))
        if token is None or session.sid is None:
            raise BadRequest("token")
        ticks = [str(t) for t in form.getlist("tick")]
        if NONE in ticks:  # the exclusive "None of these" checkbox, sent with "Done"
            ticks.remove(NONE)
            action = NONE if action == "done" else action
        drawn, fresh = Token(token.group(1), int(token.group(2))), self.sessions.check_id(session.sid)
        if drawn == Token(fresh, 1) and not self.new_checks.take():
            # The first answer of a check :meth:`start` showed would store it: capped a minute.
            return self.safety(session, status=503)
        reply = await self.service.press(
            key=self._key(session.sid), action=action, token=drawn, ticks=ticks, fresh=fresh
        )
        if reply.refused == INVALID:
            raise BadRequest("not offered")
        if reply.ended:
            return self._page(reply, session)
        if reply.changed and reply.screen.level is not None:
            METRICS.web_finished.labels(reply.screen.level).inc()
        if reply.refused == NONE_WITH_TICKS:
            # Shown at once from what the one transaction saved (the ticks kept), no second read.
            METRICS.web_refused.labels(NONE_WITH_TICKS).inc()
            error = self.service.flow.content.texts.web.none_with_ticks
            response: Response = self.render(reply.screen, session, token=reply.token, error=error)
        else:  # moved on, or a page from before (Back, a second tab): show where the check is now
            response = RedirectResponse("/", status_code=303)
        self._set_cookie(response, request, session.sid)
        return response

    async def clear(self, request: Request) -> Response:
        """ "Clear and start again": delete everything for this browser, then a new check under a
        new session id, so nothing links the two."""
        session, _ = await self.form(request, {"csrf", "action"})
        if session.sid is not None:
            await self.service.forget(key=self._key(session.sid))
        return self._first_question(request)

    async def feedback(self, request: Request) -> Response:
        session, form = await self.form(request, {"csrf", "action"})
        ticket = FEEDBACK.match(str(form["action"]))
        if ticket is None or not self.tickets.valid(ticket):
            raise BadRequest("feedback")
        first = False
        try:  # once per outcome shown: the ticket's nonce, recorded as a handled update
            await self.service.record(key=self._key(ticket["nonce"]), update_id=self.tickets.once(ticket))
            first = True
        except Duplicate:
            pass
        except Exception as err:  # noqa: BLE001 - not counted, but the thanks and the contact still show
            log.info("feedback not counted: %s", type(err).__name__)
        reply = await self.service.report_problem(ticket["code"], count=first)
        if reply.ended:
            raise BadRequest("feedback")
        return self._page(reply, session)

    async def lookup(self, request: Request) -> Response:
        name = request.path_params["name"]
        if request.query_params:
            raise BadRequest("query")
        if name not in WEB_LOOKUPS:
            raise HTTPException(404)
        session = self.session(request)
        reply = await self.service.lookup(
            key=self._key(session.sid) if session.sid is not None else None,
            name=name,
            # not the offline copies the service worker saves
            count=request.headers.get("sec-fetch-mode", "navigate") == "navigate",
        )
        in_check = any(b.action == "resume" for row in reply.screen.buttons for b in row)
        return self.render(reply.screen, session, in_check=in_check, path=f"/look/{name}")

    async def quick_reference(self, request: Request) -> Response:
        if request.query_params:
            raise BadRequest("query")
        html = quick_reference_html(self.service.flow.content, self.service.directory)
        web = self.service.flow.content.texts.web
        top = f'<p><a href="tel:999">{escape(web.call_999)}</a></p>\n<p>{escape(self._as_of())}</p>'
        html = html.replace("</h1>", f"</h1>\n{top}", 1)
        styles = re.findall(r"<style>(.*?)</style>", html, flags=re.DOTALL)
        hashes = " ".join(
            "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'" for s in styles
        )
        response = HTMLResponse(html)
        response.headers["content-security-policy"] = CSP.replace("style-src 'self'", f"style-src {hashes}")
        return response

    async def manifest(self, _request: Request) -> Response:
        t = self.service.flow.content.texts
        body = {
            "name": t.welcome_title,
            "short_name": t.welcome_title,
            "start_url": "/",
            "scope": "/",
            "display": "standalone",
            "background_color": "#ffffff",
            "theme_color": "#1d3557",
            "icons": [{"src": "/static/icon.svg", "sizes": "any", "type": "image/svg+xml"}],
        }
        return JSONResponse(body, media_type="application/manifest+json")

    async def service_worker(self, _request: Request) -> Response:
        script = (HERE / "static" / "sw.js").read_text(encoding="utf-8")
        script = script.replace("__OFFLINE_PAGES__", json.dumps(list(OFFLINE_PAGES)))
        return PlainTextResponse(script, media_type="text/javascript")

    async def healthz(self, _request: Request) -> Response:
        return PlainTextResponse("ok")


def guarded(
    web: WebApp, handler: Callable[[Request], Awaitable[Response]]
) -> Callable[[Request], Awaitable[Response]]:
    """Run a route; a bad request gets 400, any failure 503, both with 999 and the contacts."""

    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except HTTPException:
            raise
        except BadRequest as err:
            reason = err.args[0] if err.args and REASON.match(str(err.args[0])) else "bad"
            log.info("web: refused a request (%s)", reason)
            METRICS.web_refused.labels(reason.replace(" ", "_")).inc()
            return web.safety(
                web.session(request), status=400, text=web.service.flow.content.texts.web.bad_request
            )
        except Exception as err:  # noqa: BLE001 - whatever failed, the practitioner still gets 999
            log.warning("web: %s failed: %s", handler.__name__, type(err).__name__)
            return web.safety(web.session(request), status=503, error=err)

    return run


def create_app(
    service: CheckService,
    *,
    secret: bytes,
    ttl_hours: int,
    body_timeout: float = 10.0,
    new_checks_per_minute: int = 60,
) -> Starlette:
    """The web app for one service (channel "web")."""
    web = WebApp(service, secret=secret, ttl_hours=ttl_hours, new_checks_per_minute=new_checks_per_minute)

    def route(path: str, handler: Callable[[Request], Awaitable[Response]], methods: list[str]) -> Route:
        return Route(path, guarded(web, handler), methods=methods)

    async def not_found(request: Request, exc: Exception) -> Response:
        """An unknown address gets 404, a wrong method 400: both still show 999 and the contacts."""
        text = service.flow.content.texts.web
        missing = not isinstance(exc, HTTPException) or exc.status_code == 404
        status, words = (404, text.not_found) if missing else (400, text.bad_request)
        METRICS.web_refused.labels("not_found" if missing else "method").inc()
        return web.safety(web.session(request), status=status, text=words)

    routes: list[Any] = [
        route("/", web.home, ["GET"]),
        route("/start", web.start, ["POST"]),
        route("/new", web.new, ["GET"]),
        route("/act", web.act, ["POST"]),
        route("/clear", web.clear, ["POST"]),
        route("/feedback", web.feedback, ["POST"]),
        route("/look/{name}", web.lookup, ["GET"]),
        route("/quick-reference", web.quick_reference, ["GET"]),
        route("/manifest.webmanifest", web.manifest, ["GET"]),
        route("/sw.js", web.service_worker, ["GET"]),
        route("/healthz", web.healthz, ["GET"]),
        Mount("/static", app=Assets(HERE / "static", web.assets), name="static"),
    ]

    def safety(status: int) -> Response:
        """The page for a request refused (4xx) or failed (5xx) outside any route."""
        return web.safety(
            Session(None),
            status=status,
            text=service.flow.content.texts.web.bad_request if status < 500 else None,
        )

    app = Starlette(
        routes=routes,
        exception_handlers={404: not_found, 405: not_found},
        middleware=[Middleware(SecurityHeaders, safety=safety, body_timeout=body_timeout)],
    )
    # No redirect is ever built from the request's Host header ("/look/emergency/" is a 404).
    app.router.redirect_slashes = False
    return app
