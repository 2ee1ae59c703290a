"""The purge sweep, the same in every long-running mode (Telegram polling or webhook, the web page
alone): expired checks are deleted at start-up, then every few minutes (issue 21 §4). Any process
may run it; it is idempotent, and the store purges in small batches, so a practitioner's request
never waits long behind it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from bot.service import CheckService

log = logging.getLogger(__name__)
PURGE_EVERY = dt.timedelta(minutes=15)


async def sweep(service: CheckService, every: dt.timedelta = PURGE_EVERY) -> None:
    """Delete expired checks now, then every ``every``, until cancelled."""
    while True:
        try:
            purged = await service.store.purge(now=dt.datetime.now(dt.UTC))
            if purged:
                log.info("purged %d expired checks", purged)
        except Exception as err:  # noqa: BLE001 - a failed sweep is retried next time
            log.warning("purge failed: %s", type(err).__name__)
        await asyncio.sleep(every.total_seconds())
