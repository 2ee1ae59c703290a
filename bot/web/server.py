"""Serving the web page: uvicorn on its own (`cse-triage web`), or inside the Telegram webhook's
event loop (WEB_ENABLED=true) on a shared SO_REUSEPORT socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp

log = logging.getLogger(__name__)


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
