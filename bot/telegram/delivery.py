"""Delivering to the Bot API when the network is unreliable: bounded retries that never duplicate.

Flood control (429) is retried by PTB's AIORateLimiter. Here: a connection that failed, a 5xx
answer, a timeout. A call that is harmless to repeat (an edit, an answer, a deletion, a step whose
buttons carry the same version) is retried; an outcome only when the failed attempt certainly never
reached Telegram, so a practitioner never sees it twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx
from telegram.error import BadRequest, NetworkError, TelegramError, TimedOut

from bot.metrics import METRICS

log = logging.getLogger(__name__)
T = TypeVar("T")

# Waits before the 2nd and 3rd attempt of a Bot API call that failed on the way (network, 5xx).
# Flood control (429) is retried by PTB's AIORateLimiter, not here. Bounded: under a second in all.
RETRY_DELAYS: tuple[float, ...] = (0.2, 0.6)
# Errors from editing a message that is no longer there (or no longer ours to edit): send instead.
EDIT_GONE = ("message to edit not found", "message can't be edited", "message_id_invalid")
# httpx errors raised before the request left this machine: Telegram cannot have acted on it.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def not_delivered(err: TelegramError) -> bool:
    """Whether Telegram certainly did not act on a failed call, so repeating it cannot duplicate.

    True for a connection that was never made and for an error status from the server (5xx: PTB
    raises NetworkError with no cause). False for a read timeout or a connection dropped while
    waiting for the answer: the message may have been sent.
    """
    if not isinstance(err, NetworkError) or isinstance(err, BadRequest):
        return False
    cause = err.__cause__
    if cause is None:
        return not isinstance(err, TimedOut)  # a 5xx answer: Telegram refused, nothing was sent
    return isinstance(cause, _NOT_SENT)


async def with_retry(call: Callable[[], Awaitable[T]], *, repeatable: bool = True) -> T:
    """Run a Bot API call, trying again (bounded) after a network failure or a 5xx answer.

    ``repeatable``: the call does no harm if Telegram did act on a failed attempt (an edit, an
    answer, a deletion, a step message whose buttons carry the same version). An outcome is not
    repeatable: it is sent again only when the failed attempt certainly did not reach Telegram,
    so it is never shown twice.
    """
    for delay in (*RETRY_DELAYS, None):
        try:
            return await call()
        except NetworkError as err:  # includes TimedOut; RetryAfter is not one (PTB retried it already)
            if isinstance(err, BadRequest):  # a NetworkError subclass, but Telegram's answer: final
                raise
            if delay is None or not (repeatable or not_delivered(err)):
                raise
            log.info("bot api call failed, retrying: %s", type(err).__name__)
            METRICS.retries.inc()
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
