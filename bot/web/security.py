"""The web page's security layer, the outermost part of the app, around every request:

- the security headers on every response (CSP, no-store on everything but static files);
- bodies: a declared ``Content-Length`` over the limit is refused before anything is read, a body
  without one is counted as it arrives and refused past the limit, and the whole body must arrive
  within the body timeout (a body declared but never sent is not waited on for ever);
- a catch-all: whatever fails anywhere below (a route, the static files, the router) the answer is
  the safety page (999 and the designated contact) with the same headers, and one log line with the
  error's type, never a traceback or a plain-text 500.

Nothing from a request (path, query, form values, cookie, address, user agent) is ever logged:
only the name of an error's type.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable

from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.connections import EveryFewSeconds

log = logging.getLogger(__name__)
MAX_BODY = 2048
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
LAST_RESORT = (
    '<!doctype html><html lang="en-GB"><title>999</title><h1>Call 999</h1>'
    '<p><a href="tel:999">999</a></p></html>'
)


class BadRequest(Exception):
    """Something in the request was not what any page of ours sends: 400, nothing changed."""


class BodyRefused(BadRequest):
    """The body was too big, or did not arrive in time: refused, and the connection closed."""


Safety = Callable[[int], Response]


class SecurityHeaders:
    """The headers, the body limits and the catch-all (see the module's docstring).

    ``safety(status)`` builds the safety page; ``max_body`` bytes at most are read from any
    request, within ``body_timeout`` seconds of the request's headers."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        safety: Safety | None = None,
        max_body: int = MAX_BODY,
        body_timeout: float = 10.0,
        max_in_flight: int = 64,
    ) -> None:
        self.app = app
        self.max_in_flight = max_in_flight  # requests being answered at once; more get 503 + 999
        self.in_flight = 0
        self._busy_logged = -60.0
        self._refusals = EveryFewSeconds(60.0, log, logging.INFO)
        self.safety = safety or (lambda status: HTMLResponse(LAST_RESORT, status_code=status))
        self.max_body = max_body
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")
        state = {"started": False, "close": False}
        body = _LimitedBody(receive, self.max_body, self.body_timeout)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for name, value in HEADERS.items():
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                if not static or message["status"] >= 400:  # static files, but never an error page
                    headers.append((b"cache-control", b"no-store"))
                if state["close"] or body.refused:  # a body left unread: close the connection
                    headers.append((b"connection", b"close"))
                message["headers"] = headers
            await send(message)

        declared = _content_length(scope)
        if declared is None or declared > self.max_body:
            # Too big (or not a length at all): refused before a byte of it is read.
            self.refused("body size" if declared else "body length")
            state["close"] = True
            await self._answer(scope, receive, with_headers, 413 if declared else 400)
            return

        try:
            # The whole body (2 KB at most, within the timeout) before a slot is taken: a client
            # that never sends it holds no slot, only its connection (bot/connections.py).
            replay = await body.read_all()
        except BodyRefused as err:
            self.refused(err.args[0])
            await self._answer(scope, receive, with_headers, 400)
            return
        if self.in_flight >= self.max_in_flight:
            self.busy("requests at once")
            await self._answer(scope, receive, with_headers, 503)
            return
        self.in_flight += 1
        try:
            await self.app(scope, replay, with_headers)
        except Exception as err:  # noqa: BLE001 - whatever failed below, the answer still shows 999
            log.error("web: request failed: %s", type(err).__name__)
            if state["started"]:
                return  # half a page went out: the server closes the connection
            await self._answer(scope, receive, with_headers, 400 if isinstance(err, BadRequest) else 500)
        finally:
            self.in_flight -= 1

    def refused(self, why: str) -> None:
        """Bodies refused: one line a minute at most (a flood of them must not flood the log)."""
        self._refusals("web: refused a request (%s)", why)

    def busy(self, what: str) -> None:
        now = time.monotonic()
        if now - self._busy_logged >= 60:
            log.warning("web: too many %s (%d): answered with the safety page", what, self.max_in_flight)
            self._busy_logged = now

    async def _answer(self, scope: Scope, receive: Receive, send: Send, status: int) -> None:
        """The safety page; if even that cannot be built, the last resort (999 alone)."""
        try:
            response = self.safety(status)
        except Exception as err:  # noqa: BLE001 - even the page failing must leave 999
            log.error("web: safety page failed: %s", type(err).__name__)
            response = HTMLResponse(LAST_RESORT, status_code=status)
        await response(scope, receive, send)


class _LimitedBody:
    """``receive`` for the app: the body counted against the limit, within the deadline."""

    def __init__(self, receive: Receive, limit: int, timeout: float) -> None:
        self._receive = receive
        self.limit = limit
        self.deadline = time.monotonic() + timeout
        self.read = 0
        self.done = False
        self.refused = False

    async def read_all(self) -> Receive:
        """Read the whole body now; return a ``receive`` that gives it to the app, then the rest."""
        chunks = []
        while not self.done:
            message = await self.receive()
            if message["type"] != "http.request":
                return _replay([message], self._receive)
            chunks.append(message.get("body", b""))
        whole: Message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        return _replay([whole], self._receive)

    async def receive(self) -> Message:
        if self.done:  # the body is in; what follows (a disconnect) is not timed
            return await self._receive()
        try:
            async with asyncio.timeout(max(0.0, self.deadline - time.monotonic())):
                message = await self._receive()
        except TimeoutError:
            self.refused = True
            raise BodyRefused("body timeout") from None
        if message["type"] == "http.request":
            self.read += len(message.get("body", b""))
            if self.read > self.limit:
                self.refused = True
                raise BodyRefused("body size")
            self.done = not message.get("more_body", False)
        else:
            self.done = True
        return message


class PerMinute:
    """At most ``limit`` events in any 60 s (sliding), in this process; when the cap is reached,
    one log line a minute says so (issue 21 §3: new web checks)."""

    def __init__(self, limit: int, what: str) -> None:
        self.limit = limit
        self.what = what
        self.times: deque[float] = deque()
        self.logged = -60.0

    def take(self) -> bool:
        now = time.monotonic()
        while self.times and self.times[0] <= now - 60:
            self.times.popleft()
        if len(self.times) >= self.limit:
            if now - self.logged >= 60:
                log.warning("web: %s capped at %d a minute", self.what, self.limit)
                self.logged = now
            return False
        self.times.append(now)
        return True


def _replay(messages: list[Message], then: Receive) -> Receive:
    async def receive() -> Message:
        return messages.pop(0) if messages else await then()

    return receive


def _content_length(scope: Scope) -> int | None:
    """The declared body length (0 when none is declared), or None when the header is not one."""
    values = [v for k, v in scope.get("headers", []) if k.lower() == b"content-length"]
    if not values:
        return 0
    if len(values) > 1 or not values[0].isdigit() or len(values[0]) > 18:
        return None
    return int(values[0])
