"""One chat must not delay everyone (issue 12, §1).

Chat A queues 500 typed messages (forwarding 100 messages is one action in Telegram), then chat B
sends /emergency. Through the real Application, its update queue and update processor, and PTB's
request layer: B is answered within a second, A holds at most one processing slot, every one of
A's messages is deleted in the order it arrived, and A gets one reply for the burst.

Every Bot API call takes 4 ms, as a network round trip would. Short version (``make test``): the
bot's own pacing is off. Soak (``CSE_SOAK=1``): PTB's real 30-messages-a-second pacing, as in the
attack (B waited 30.6 s before the fix).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from telegram import Update
from telegram.request import RequestData

from bot.telegram.app import build_application
from testkit.botapi import FakeRequest, FakeTelegram, message
from testkit.helpers import running
from testkit.soak import SOAK, unpaced
from testkit.telegram_harness import make_service, settings

FLOODER, OTHER = 5550301, 5550302
FLOOD = 500


class Timed(FakeRequest):
    """Every call takes ``latency`` seconds; records when each call was made and how many updates
    held a processing slot at that moment."""

    def __init__(self, api: FakeTelegram, latency: float) -> None:
        super().__init__(api)
        self.latency = latency
        self.app: Any = None
        self.log: list[tuple[float, str, int, int]] = []  # (time, method, chat id, slots held)

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        params = request_data.parameters if request_data else {}
        chat = int(params.get("chat_id", 0) or 0)
        held = self.app.update_processor.current_concurrent_updates if self.app else 0
        self.log.append((time.monotonic(), url.rsplit("/", 1)[-1], chat, held))
        if self.latency:
            await asyncio.sleep(self.latency)
        return await super().do_request(url, method, request_data, *args, **kwargs)


async def test_a_flooding_chat_holds_one_slot_and_another_chats_emergency_is_answered_within_a_second() -> (
    None
):
    api = FakeTelegram()
    request = Timed(api, latency=0.004)
    app = build_application(settings(), make_service(), request=request)
    request.app = app
    if not SOAK:
        unpaced(app)
    flood = [message(api, FLOODER, f"Forwarded {i}: Jane Smith, 12 High Street") for i in range(FLOOD)]
    async with running(app):
        for raw in [*flood, message(api, OTHER, "/emergency")]:
            await app.update_queue.put(Update.de_json(raw, app.bot))
        started = time.monotonic()
        await app.start()
        try:
            await api.until(lambda: bool(_to(api, "sendMessage", OTHER)), 60, "B's reply")
            answered = next(t for t, m, c, _ in request.log if m == "sendMessage" and c == OTHER) - started
            await api.until(lambda: len(_to(api, "deleteMessage", FLOODER)) == FLOOD, 120, "A's deletions")
            drained = time.monotonic() - started
        finally:
            await app.stop()
    held = max(h for _, m, c, h in request.log if c == FLOODER)
    deleted = [int(p["message_id"]) for p in _to(api, "deleteMessage", FLOODER)]
    replies = _to(api, "sendMessage", FLOODER)
    print(
        f"\nflood of {FLOOD} ({'paced at 30/s' if SOAK else 'unpaced'}, 4 ms per call): "
        f"/emergency from another chat answered after {answered:.3f} s; slots held at most {held}; "
        f"{len(replies)} reply to the flooder; all deleted after {drained:.1f} s"
    )
    assert answered < 1.0, f"/emergency from another chat waited {answered:.2f} s"
    assert "999" in str(_to(api, "sendMessage", OTHER)[0]["text"])
    assert held <= 2, f"the flooding chat (with B) held {held} processing slots"
    assert deleted == [raw["message"]["message_id"] for raw in flood], "every message deleted, in order"
    assert len(replies) == 1, f"{len(replies)} replies to one burst"


def _to(api: FakeTelegram, method: str, chat: int) -> list[dict[str, Any]]:
    return [p for p in api.of(method) if int(p.get("chat_id", 0)) == chat]
