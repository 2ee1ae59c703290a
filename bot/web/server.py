"""Serving the web page: uvicorn on its own (`cse-triage web`), or inside the Telegram webhook's
event loop (WEB_ENABLED=true) on a shared SO_REUSEPORT socket.

Hardened as the webhook is (issue 21 §1): a connection that sends no complete request headers
within WEB_IDLE_TIMEOUT of connecting (or of its last answer) is closed; the body's own timeout is
in bot/web/security.py; the open-files limit is raised at start-up; every connection counts in the
process's one registry (bot/connections.py), which closes the oldest idle ones when descriptors
run short, whichever server holds them, instead of accepting stopping; asyncio's "accept() out of
system resource" (a traceback per attempt, thousands a second) becomes that shedding and one log
line a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from starlette.types import ASGIApp

from bot.connections import CONNECTIONS, raise_open_files_limit

log = logging.getLogger(__name__)
ACCEPT_FAILED = "socket.accept() out of system resource"
SHED_EVERY = 0.5  # asyncio reports a failed accept once per queued connection: shed once per burst


def guarded_protocol(idle_timeout: float) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol with the header/idle timeout and the shared registry."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class Guarded(H11Protocol):
        _timer: asyncio.TimerHandle | None = None
        _unregister: Callable[[], None] | None = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
            super().connection_made(transport)  # type: ignore[arg-type]
            self._unregister = CONNECTIONS.add(
                idle=self._idle, closed=transport.is_closing, close=self.transport.abort
            )
            self._arm()

        def _idle(self) -> bool:
            return self.cycle is None or self.cycle.response_complete

        def _arm(self) -> None:
            self._disarm()
            self._timer = self.loop.call_later(idle_timeout, self._too_slow)

        def _disarm(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _too_slow(self) -> None:
            self._timer = None
            if self._idle() and not self.transport.is_closing():
                self.transport.abort()  # no request in time: nothing to answer

        def handle_events(self) -> None:
            before = self.cycle
            super().handle_events()
            if self.cycle is not before:  # a request's headers arrived
                self._disarm()

        def on_response_complete(self) -> None:
            self._arm()  # idle again until the next request's headers
            super().on_response_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            if self._unregister is not None:
                self._unregister()
            super().connection_lost(exc)

    return Guarded


def quiet_accept_failures(loop: asyncio.AbstractEventLoop) -> None:
    """asyncio's failed accept (no descriptors): shed the oldest idle connections instead of a
    traceback per queued connection (it retries accepting a second later by itself)."""
    previous = loop.get_exception_handler()
    last = [-SHED_EVERY]

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") == ACCEPT_FAILED:
            now = loop.time()
            if now - last[0] >= SHED_EVERY:
                last[0] = now
                CONNECTIONS.shed("out of descriptors")
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)


def _config(app: ASGIApp, host: str, port: int, idle_timeout: float = 10.0) -> Any:
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
        http=guarded_protocol(idle_timeout),
    )


def serve(
    app: ASGIApp,
    *,
    host: str,
    port: int,
    idle_timeout: float = 10.0,
    lifecycle: AbstractAsyncContextManager[object] | None = None,
) -> None:
    """Run the app on uvicorn (blocking); uvicorn itself handles SIGINT and SIGTERM.
    ``lifecycle`` is entered in the same event loop before the server starts and left after it
    stops (the process's runtime: the purge sweep, the contacts reload on SIGHUP)."""
    import signal

    import uvicorn

    before, after = raise_open_files_limit()
    log.info("open files limit: %d (was %d)", after, before)

    async def run() -> None:
        quiet_accept_failures(asyncio.get_running_loop())
        async with lifecycle or contextlib.nullcontext():
            await uvicorn.Server(_config(app, host, port, idle_timeout)).serve()

    def stopped(_signum: int, _frame: object) -> None:
        raise SystemExit(0)

    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then raises the signal again: end cleanly
    # then, so the lifecycle's clean-up (the pid file) runs.
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


async def serve_beside(
    app: ASGIApp, *, host: str, port: int, stop: asyncio.Event, idle_timeout: float = 10.0
) -> None:
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
    quiet_accept_failures(asyncio.get_running_loop())
    server = Embedded(_config(app, host, port, idle_timeout))
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    await stop.wait()
    server.should_exit = True
    await task
    sock.close()
