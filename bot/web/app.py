"""The check on the web: a third thin front end over :class:`bot.service.CheckService`.

One question per page, plain HTML forms (POST, then redirect to GET), no JavaScript needed. The
check is the same store row as in Telegram, keyed by an HMAC of a random session id that lives in
one cookie (``HttpOnly``, ``SameSite=Strict``, ``Secure`` over https, ``Max-Age`` the session
TTL). Forms carry a CSRF token derived from the session. Anything unexpected gets a 400 page that
changes nothing and still shows 999 and the designated contact; any failure (the database down)
gets the same safety net from memory.

Nothing from a request (path, query, form values, cookie, address, user agent) is ever logged:
only the name of an error's type.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import re
import secrets
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from markupsafe import escape
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.service import CheckService, Reply, Token, web_key
from bot.web.view import page_of, split_symbol
from flows.reference import quick_reference_html
from flows.screens import LOOKUPS, Screen, parse_action

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
COOKIE = "cse_session"
SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{43}$")
CHECK_TOKEN = re.compile(r"^([A-Za-z0-9_-]{1,16})\.(\d{1,9})$")
FEEDBACK_CODE = re.compile(r"^\d{1,2}_[0-9a-f]{1,8}$")
MAX_BODY = 2048
WEB_LOOKUPS = tuple(n for n in LOOKUPS if n != "help")  # /help lists Telegram commands
OFFLINE_PAGES = ("/look/emergency", "/look/contacts", "/quick-reference")
CSP = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; manifest-src 'self'; "
    "worker-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


class BadRequest(Exception):
    """Something in the request was not what any page of ours sends: 400, nothing changed."""


@dataclass
class Session:
    """The browser's session id (None before the first check) and whether it is new."""

    sid: str | None
    new: bool = False


class SecurityHeaders:
    """Adds the security headers to every response; no-store on everything but static files."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for name, value in HEADERS.items():
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class WebApp:
    """The routes, over one :class:`CheckService` (channel "web")."""

    def __init__(self, service: CheckService, *, secret: bytes, ttl_hours: int) -> None:
        self.service = service
        self.secret = secret
        self.max_age = ttl_hours * 3600
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self.env.filters["symbol"] = lambda s: split_symbol(s)[0]
        self.env.filters["words"] = lambda s: split_symbol(s)[1]

    # -- sessions and tokens --------------------------------------------------------------------
    def _key(self, sid: str) -> str:
        return web_key(self.secret, sid)

    def _mac(self, domain: bytes, value: str) -> str:
        return hmac.new(self.secret, domain + value.encode(), hashlib.sha256).hexdigest()[:32]

    def csrf(self, session: Session) -> str:
        """The form token: bound to the session, or for a browser with none yet a signed nonce
        that lets it start its first check."""
        if session.sid is not None:
            return "s" + self._mac(b"csrf\0", session.sid)
        nonce = secrets.token_urlsafe(12)
        return "n" + nonce + "." + self._mac(b"csrf-new\0", nonce)

    def _csrf_ok(self, session: Session, token: str, *, new_allowed: bool = False) -> bool:
        if session.sid is not None and not (new_allowed and token.startswith("n")):
            return hmac.compare_digest(token, "s" + self._mac(b"csrf\0", session.sid))
        nonce, _, mac = token[1:].partition(".")
        return (
            token.startswith("n")
            and bool(nonce)
            and hmac.compare_digest(mac, self._mac(b"csrf-new\0", nonce))
        )

    @staticmethod
    def session(request: Request) -> Session:
        sid = request.cookies.get(COOKIE)
        return Session(sid if sid and SESSION_ID.match(sid) else None)

    def _set_cookie(self, response: Response, request: Request, sid: str) -> None:
        response.set_cookie(
            COOKIE,
            sid,
            max_age=self.max_age,
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )

    async def form(
        self, request: Request, fields: set[str], *, new_allowed: bool = False
    ) -> tuple[Session, FormData]:
        """The posted form, refused unless it is exactly one of ours (fields, size, origin, token).
        ``new_allowed``: a start button drawn before this browser had a session (another tab)
        still works."""
        if request.query_params:
            raise BadRequest("query")
        # Cross-site posts are refused (besides SameSite=Strict and the form token). With
        # Referrer-Policy no-referrer, browsers send "Origin: null" on their own forms, so the
        # fetch metadata header decides where the browser sends one.
        site = request.headers.get("sec-fetch-site")
        origin = request.headers.get("origin")
        if site is not None and site != "same-origin":
            raise BadRequest("cross-site")
        if origin not in (None, "null") and urlsplit(origin).netloc != request.headers.get("host"):
            raise BadRequest("origin")
        if (
            request.headers.get("content-type", "").split(";")[0].strip()
            != "application/x-www-form-urlencoded"
        ):
            raise BadRequest("content type")
        body = await request.body()
        if len(body) > MAX_BODY:
            raise BadRequest("size")
        form = await request.form(max_files=0, max_fields=len(fields) + 1)
        if set(form.keys()) != fields or len(form.multi_items()) != len(fields):
            raise BadRequest("fields")
        session = self.session(request)
        token = form.get("csrf")
        if not isinstance(token, str) or not self._csrf_ok(session, token, new_allowed=new_allowed):
            raise BadRequest("csrf")
        return session, form

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
    ) -> HTMLResponse:
        web = self.service.flow.content.texts.web
        page = page_of(
            screen,
            self.service.flow.content,
            token=f"{token.check_id}.{token.version}" if token else "",
            fallback_title=title or web.notice_title,
        )
        html = self.env.get_template("page.html").render(
            page=page,
            web=web,
            site=self.service.flow.content.texts.welcome_title,
            csrf=self.csrf(session),
            nav=[(f"/look/{n}", label) for n, label in web.nav.items() if n in WEB_LOOKUPS],
            in_check=in_check,
            as_of=self._as_of() if path in OFFLINE_PAGES else "",
            current=path,
        )
        return HTMLResponse(html, status_code=status)

    def _as_of(self) -> str:
        when = self.service.clock().strftime("%d %B %Y, %H:%M")
        return self.service.flow.content.texts.web.as_of.format(when=when)

    def safety(self, session: Session, *, status: int, text: str | None = None) -> HTMLResponse:
        """999 and the designated contact, from memory: the page for anything that went wrong
        (a refused request is titled as such; a failure is titled "who to call")."""
        title = self.service.flow.content.texts.web.bad_request_title if status in (400, 404) else None
        try:
            return self.render(self.service.safety_net(text), session, status=status, title=title)
        except Exception as err:  # noqa: BLE001 - even the template failing must leave 999
            log.error("web: safety page failed: %s", type(err).__name__)
            return HTMLResponse(
                '<!doctype html><html lang="en-GB"><title>999</title><h1>Call 999</h1>'
                '<p><a href="tel:999">999</a></p></html>',
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
        return self.render(self.service.welcome(), session)

    async def start(self, request: Request) -> Response:
        session, _ = await self.form(request, {"csrf", "action"}, new_allowed=True)
        sid = session.sid or secrets.token_urlsafe(32)
        await self.service.start(key=self._key(sid), update_id=None)
        response = RedirectResponse("/", status_code=303)
        self._set_cookie(response, request, sid)
        return response

    async def act(self, request: Request) -> Response:
        session, form = await self.form(request, {"csrf", "token", "action"})
        action, token = str(form["action"]), CHECK_TOKEN.match(str(form["token"]))
        parsed = parse_action(action)
        if parsed is None or not parsed.is_event or token is None or session.sid is None:
            raise BadRequest("action")
        key = self._key(session.sid)
        current = await self.service.current(key=key, update_id=None)
        if current is None or current.token is None:
            return self._page(self.service.ended(), session)
        drawn = Token(token.group(1), int(token.group(2)))
        if drawn != current.token:
            # A page from before (the browser's Back, a second tab): show where the check is now.
            return RedirectResponse("/", status_code=303)
        offered = {b.action for row in current.screen.buttons for b in row}
        if action not in offered:
            raise BadRequest("not offered")
        reply = await self.service.act(key=key, update_id=None, action=action, token=drawn)
        if reply.token is None:  # the outcome, or the check stopped: shown once, kept nowhere
            response = self._page(reply, session)
        else:
            anchor = f"#{action.replace(':', '-')}" if action.startswith("t:") else ""
            response = RedirectResponse(f"/{anchor}", status_code=303)
        self._set_cookie(response, request, session.sid)
        return response

    async def clear(self, request: Request) -> Response:
        """ "Clear and start again": delete everything for this browser, then a new check under a
        new session id, so nothing links the two."""
        session, _ = await self.form(request, {"csrf", "action"})
        if session.sid is not None:
            await self.service.forget(key=self._key(session.sid))
        sid = secrets.token_urlsafe(32)
        await self.service.start(key=self._key(sid), update_id=None)
        response = RedirectResponse("/", status_code=303)
        self._set_cookie(response, request, sid)
        return response

    async def feedback(self, request: Request) -> Response:
        session, form = await self.form(request, {"csrf", "action"})
        code = str(form["action"])
        if not FEEDBACK_CODE.match(code):
            raise BadRequest("feedback")
        reply = await self.service.report_problem(code)
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
        in_check = False
        if session.sid is not None:
            try:
                in_check = await self.service.current(key=self._key(session.sid), update_id=None) is not None
            except Exception as err:  # noqa: BLE001 - a lookup never needs the database
                log.warning("web: check state unknown for a lookup: %s", type(err).__name__)
        screen = self.service.lookup(name, in_check=in_check)
        if request.headers.get("sec-fetch-mode", "navigate") == "navigate":
            await self.service.note_lookup(name)  # not the offline copies the service worker saves
        return self.render(screen, session, in_check=in_check, path=f"/look/{name}")

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
            log.info("web: refused a request (%s)", err.args[0] if err.args else "bad")
            return web.safety(
                web.session(request), status=400, text=web.service.flow.content.texts.web.bad_request
            )
        except Exception as err:  # noqa: BLE001 - whatever failed, the practitioner still gets 999
            log.warning("web: %s failed: %s", handler.__name__, type(err).__name__)
            return web.safety(web.session(request), status=503)

    return run


def create_app(service: CheckService, *, secret: bytes, ttl_hours: int) -> Starlette:
    """The web app for one service (channel "web")."""
    web = WebApp(service, secret=secret, ttl_hours=ttl_hours)

    def route(path: str, handler: Callable[[Request], Awaitable[Response]], methods: list[str]) -> Route:
        return Route(path, guarded(web, handler), methods=methods)

    async def not_found(request: Request, exc: Exception) -> Response:
        """An unknown address gets 404, a wrong method 400: both still show 999 and the contacts."""
        text = service.flow.content.texts.web
        missing = not isinstance(exc, HTTPException) or exc.status_code == 404
        status, words = (404, text.not_found) if missing else (400, text.bad_request)
        return web.safety(web.session(request), status=status, text=words)

    routes: list[Any] = [
        route("/", web.home, ["GET"]),
        route("/start", web.start, ["POST"]),
        route("/act", web.act, ["POST"]),
        route("/clear", web.clear, ["POST"]),
        route("/feedback", web.feedback, ["POST"]),
        route("/look/{name}", web.lookup, ["GET"]),
        route("/quick-reference", web.quick_reference, ["GET"]),
        route("/manifest.webmanifest", web.manifest, ["GET"]),
        route("/sw.js", web.service_worker, ["GET"]),
        route("/healthz", web.healthz, ["GET"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    return Starlette(
        routes=routes,
        exception_handlers={404: not_found, 405: not_found},
        middleware=[Middleware(SecurityHeaders)],
    )


def _config(app: ASGIApp, host: str, port: int) -> Any:
    """uvicorn's settings: no access log (it would hold addresses and paths), no server header,
    its own records through the root handlers (bot.logs), and X-Forwarded-Proto trusted from a
    proxy on this host only (for the Secure cookie)."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=False,
        server_header=False,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        log_level="warning",
        log_config=None,
    )


def serve(app: ASGIApp, *, host: str, port: int, on_hangup: Callable[[], object] | None = None) -> None:
    """Run the app on uvicorn (blocking). ``on_hangup`` runs on SIGHUP (the contacts reload);
    uvicorn itself handles SIGINT and SIGTERM."""
    import signal

    import uvicorn

    async def run() -> None:
        if on_hangup is not None:
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, on_hangup)
        await uvicorn.Server(_config(app, host, port)).serve()

    def stopped(_signum: int, _frame: object) -> None:
        raise SystemExit(0)

    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then raises the signal again: end cleanly
    # then, so the caller's clean-up (the pid file) runs.
    signal.signal(signal.SIGTERM, stopped)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


def shared_socket(host: str, port: int) -> socket.socket:
    """A listening socket with SO_REUSEPORT: every webhook worker on the host (one env file,
    one WEB_PORT) serves the page on the same port, and the kernel spreads the connections."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


async def serve_beside(app: ASGIApp, *, host: str, port: int, stop: asyncio.Event) -> None:
    """Run the app on uvicorn inside an event loop that another server owns (the Telegram
    webhook, WEB_ENABLED=true) until ``stop`` is set. That server keeps the signal handlers;
    uvicorn is told not to install its own. If the page cannot listen, Telegram carries on and
    the error is logged: the web page is the second channel, never a reason to stop the first."""
    import uvicorn

    class Embedded(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Any:
            yield

    try:
        sock = shared_socket(host, port)
    except OSError as err:
        log.error("web page not served: cannot listen on %s:%d (%s)", host, port, type(err).__name__)
        return
    server = Embedded(_config(app, host, port))
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    await stop.wait()
    server.should_exit = True
    await task
    sock.close()
