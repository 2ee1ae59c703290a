"""Connections of every HTTP server in this process (the Telegram webhook, the web page), held
to what the process's file descriptors allow (issue 21 §1).

Slow or idle clients cannot stop a server accepting, nor one channel starve the other:

- at start-up the open-files soft limit is raised to the hard limit (:func:`raise_open_files_limit`);
- every accepted connection is registered here, oldest first, whichever server took it;
- when the open connections reach the cap (the open-files limit less a reserve for the
  process's own files, database and Bot API connections), or accept() fails for lack of
  descriptors, the oldest *idle* connections (no request in progress) are closed, across both
  servers, so a new connection is accepted instead of accepting stopping;
- each such shedding is logged at most once a minute, with how many happened since.

Nothing about a connection (address, request) is logged: only counts.
"""

from __future__ import annotations

import logging
import resource
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)
LOG_EVERY = 60.0
# Descriptors kept for everything but client connections (modules, logs, the database, the Bot
# API pool: about 70 for a webhook process with the page beside it): 1/8, at least 128.
RESERVE_FRACTION = 8
RESERVE_MIN = 128


def raise_open_files_limit() -> tuple[int, int]:
    """Raise the soft RLIMIT_NOFILE to the hard limit where allowed; return (before, after)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 16)
    if soft == resource.RLIM_INFINITY or soft >= target:
        return soft, soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as err:
        log.warning("open files limit not raised (%s): stays at %d", type(err).__name__, soft)
        return soft, soft
    return soft, target


class EveryFewSeconds:
    """Log a repeated condition once per period, with how many times it happened in between."""

    def __init__(self, period: float, logger: logging.Logger = log, level: int = logging.ERROR) -> None:
        self.period = period
        self.logger = logger
        self.level = level
        self.last = -period
        self.quiet = 0

    def __call__(self, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self.last < self.period:
            self.quiet += 1
            return
        self.logger.log(self.level, message + " (%d more since the last line)", *args, self.quiet)
        self.last, self.quiet = now, 0


@dataclass
class _Entry:
    idle: Callable[[], bool]
    closed: Callable[[], bool]
    close: Callable[[], None]


def _cap() -> int:
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        return 1 << 20
    return max(16, soft - max(RESERVE_MIN, soft // RESERVE_FRACTION))


class Connections:
    """The registry (see the module's docstring). ``cap``: None follows the open-files limit."""

    def __init__(self, cap: int | None = None) -> None:
        self._fixed = cap
        self._open: OrderedDict[int, _Entry] = OrderedDict()
        self._next = 0
        self.report = EveryFewSeconds(LOG_EVERY)
        self.shed_total = 0

    @property
    def cap(self) -> int:
        return self._fixed if self._fixed is not None else _cap()

    def __len__(self) -> int:
        return len(self._open)

    def add(
        self, *, idle: Callable[[], bool], closed: Callable[[], bool], close: Callable[[], None]
    ) -> Callable[[], None]:
        """Register a connection just accepted (shedding first if the cap is reached); return
        the function that unregisters it."""
        if len(self._open) >= self.cap:
            self.prune()
            if len(self._open) >= self.cap:
                self.shed("at the limit")
        self._next += 1
        ident = self._next
        self._open[ident] = _Entry(idle, closed, close)

        def remove() -> None:
            self._open.pop(ident, None)

        return remove

    def prune(self) -> None:
        """Forget connections that closed without telling (tornado's)."""
        for ident in [i for i, e in self._open.items() if e.closed()]:
            del self._open[ident]

    def shed(self, why: str) -> int:
        """Close the oldest idle connections: 1/16 of the cap (at least one). Return how many."""
        want = max(1, self.cap // 16)
        victims: list[int] = []
        for ident, entry in self._open.items():
            if len(victims) >= want:
                break
            if entry.closed():
                victims.append(ident)
            elif entry.idle():
                victims.append(ident)
                entry.close()
        for ident in victims:
            self._open.pop(ident, None)
        self.shed_total += len(victims)
        self.report(
            "connections %s (%d open, cap %d): closed the %d oldest idle",
            why,
            len(self._open),
            self.cap,
            len(victims),
        )
        return len(victims)


# One registry per process: both servers' connections count against the same descriptors.
CONNECTIONS = Connections()
