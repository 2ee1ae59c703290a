"""The check on the web: a third thin front end over :class:`bot.service.CheckService`.

One question per page, plain HTML forms (POST, then redirect to GET), no JavaScript needed. The
check is the same store row as in Telegram, keyed by an HMAC of a random session id that lives in
one cookie (bot/web/session.py). Anything unexpected gets a 400 page that changes nothing and still
shows 999 and the designated contact; any failure (the database down) gets the same safety net
from memory. Drawing the pages is bot/web/pages.py; the headers every response carries are in
bot/web/security.py; serving in bot/web/server.py.

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
from typing import Any

from markupsafe import escape
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

from bot.metrics import METRICS
from bot.service import INVALID, NONE_WITH_TICKS, CheckService, Duplicate, Reply, Token
from bot.web.pages import HERE, OFFLINE_PAGES, WEB_LOOKUPS, Assets, Pages
from bot.web.security import CSP, BadRequest, PerMinute, SecurityHeaders
from bot.web.session import Session, Sessions, Tickets
from bot.web.view import NONE
from flows.reference import quick_reference_html

log = logging.getLogger(__name__)
CHECK_TOKEN = re.compile(r"^([A-Za-z0-9_-]{1,16})\.(\d{1,9})$")
FEEDBACK = re.compile(
    r"^(?P<code>\d{1,2}_[0-9a-f]{1,8})\.(?P<minute>\d{1,9})\.(?P<nonce>[A-Za-z0-9_-]{12})\.(?P<mac>[0-9a-f]{16})$"
)
REASON = re.compile(r"^[a-z][a-z -]{0,30}$")  # BadRequest's short reasons, as a metrics label
MAX_TICKS = 32  # more ticks than any step has items (and "None of these") is not one of our forms


class WebApp:
    """The routes, over one :class:`CheckService` (channel "web")."""

    def __init__(
        self, service: CheckService, *, secret: bytes, ttl_hours: int, new_checks_per_minute: int = 60
    ) -> None:
        self.service = service
        self.sessions = Sessions(secret, ttl_hours * 3600)
        self.tickets = Tickets(secret)
        self.new_checks = PerMinute(new_checks_per_minute, "new web checks")
        self.pages = Pages(service, self.sessions, self.tickets)

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

    def _page(self, reply: Reply, session: Session) -> Response:
        return self.pages.render(reply.screen, session, token=reply.token)

    # -- routes -------------------------------------------------------------------------------------
    async def home(self, request: Request) -> Response:
        if request.query_params:
            raise BadRequest("query")
        session = self.session(request)
        if session.sid is not None:
            reply = await self.service.current(key=self._key(session.sid), update_id=None)
            if reply is not None:
                return self.pages.render(reply.screen, session, token=reply.token)
        # No check stored for this value: it is never adopted (a new id comes with Start).
        return self.pages.render(self.service.welcome(), Session(None))

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
        return self.pages.render(reply.screen, session, token=reply.token)

    async def act(self, request: Request) -> Response:
        """A step's one form: the ticks and the button pressed, applied in one store transaction
        (:meth:`CheckService.press` with the ticks), then a redirect to the page, which reads the
        check once."""
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
            return self.pages.safety(session, status=503)
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
            response: Response = self.pages.render(reply.screen, session, token=reply.token, error=error)
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
        return self.pages.render(reply.screen, session, in_check=in_check, path=f"/look/{name}")

    async def quick_reference(self, request: Request) -> Response:
        if request.query_params:
            raise BadRequest("query")
        html = quick_reference_html(self.service.flow.content, self.service.directory)
        web = self.service.flow.content.texts.web
        top = f'<p><a href="tel:999">{escape(web.call_999)}</a></p>\n<p>{escape(self.pages.as_of())}</p>'
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
            return web.pages.safety(
                web.session(request), status=400, text=web.service.flow.content.texts.web.bad_request
            )
        except Exception as err:  # noqa: BLE001 - whatever failed, the practitioner still gets 999
            log.warning("web: %s failed: %s", handler.__name__, type(err).__name__)
            return web.pages.safety(web.session(request), status=503, error=err)

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
        return web.pages.safety(web.session(request), status=status, text=words)

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
        Mount("/static", app=Assets(HERE / "static", web.pages.assets), name="static"),
    ]

    def safety(status: int) -> Response:
        """The page for a request refused (4xx) or failed (5xx) outside any route."""
        return web.pages.safety(
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
