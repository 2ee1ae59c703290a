"""What every long-running mode runs around its server, the same way: Telegram polling, the
Telegram webhook (with the web page beside it, WEB_ENABLED) and the web page on its own.

- Metrics: with METRICS_PORT set, a mode that has no ``/metrics`` of its own (polling, the web
  page) serves them on their own small server before it starts; the webhook serves ``/metrics``
  beside its updates.
- The purge sweep (bot/sweep.py): expired checks deleted at start-up, then every 15 minutes.
- The contacts reload (bot/reload.py): with CONTACTS_FILE set, SIGHUP re-reads the file, checking
  it first, and the process's pid is recorded in RUN_DIR for ``cse-triage reload``.

Shutdown runs in the reverse order: the sweep is cancelled, SIGHUP released and the pid file
removed, then the store's connections are closed. The composition root (bot/wiring.py) builds one
per process; the web page beside the webhook shares the Telegram one (its service is a sibling).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import signal
from pathlib import Path
from types import TracebackType
from typing import Literal

from bot.config import Settings
from bot.metrics import METRICS
from bot.reload import reload_contacts, remove_pid, write_pid
from bot.service import CheckService
from bot.sweep import PURGE_EVERY, sweep

Kind = Literal["telegram", "web"]


class Runtime:
    """The lifecycle of one process's service: ``serve_metrics`` before its server starts, then
    ``start`` and ``stop`` in the server's event loop (or ``async with``)."""

    def __init__(
        self,
        settings: Settings,
        service: CheckService,
        *,
        kind: Kind,
        purge_every: dt.timedelta = PURGE_EVERY,
    ) -> None:
        self.service = service
        self.kind = kind
        self.contacts_file = settings.contacts_file
        self.run_dir = settings.run_dir
        self.purge_every = purge_every
        own_metrics = kind == "telegram" and settings.bot_mode == "webhook"  # /metrics beside /hook
        port = None if own_metrics else settings.metrics_port
        self.metrics_at = (settings.metrics_listen, port) if port is not None else None
        self._sweeper: asyncio.Task[None] | None = None
        self._hangup = False
        self._pid_file: Path | None = None

    def serve_metrics(self) -> None:
        """METRICS_PORT, for a mode without ``/metrics`` of its own: a daemon thread, started
        before the mode's server so a port already taken stops the process before it serves."""
        if self.metrics_at is not None:
            address, port = self.metrics_at
            METRICS.serve(port, address)

    async def start(self) -> None:
        """The sweep, then (with a contacts file) SIGHUP and the pid file."""
        self._sweeper = asyncio.create_task(sweep(self.service, self.purge_every))
        if self.contacts_file is not None:
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGHUP, reload_contacts, self.service, self.contacts_file)
            self._hangup = True
            self._pid_file = write_pid(self.run_dir, self.kind)

    async def stop(self) -> None:
        """What ``start`` began, undone in reverse; then the store's connections closed."""
        task, self._sweeper = self._sweeper, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._hangup:
            self._hangup = False
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            remove_pid(self._pid_file)
            self._pid_file = None
        await self.service.store.close()

    async def __aenter__(self) -> Runtime:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
