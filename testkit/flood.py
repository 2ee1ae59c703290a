"""One chat floods the bot while another has an emergency (issue 12, §1): the run shared by the
test (``tests/telegram/test_one_chat_cannot_delay_the_others.py``, which judges what happened) and
the benchmark (``bench/run.py``, which reports how long the other chat waited).

Chat A queues ``count`` typed messages (forwarding 100 messages is one action in Telegram), then
chat B sends /emergency, through the real Application, its update queue and update processor, and
PTB's request layer. Every Bot API call takes ``latency`` seconds, as a network round trip would;
``paced``: PTB's real 30-messages-a-second limiter, as in the attack (else the bot's pacing is off).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.request import RequestData

from bot.telegram.app import build_application
from testkit.botapi import FakeRequest, FakeTelegram, message
from testkit.helpers import running
from testkit.soak import unpaced
from testkit.telegram_harness import make_service, settings

FLOODER, OTHER = 5550301, 5550302


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
        chat = int(str(params.get("chat_id") or 0))
        held = self.app.update_processor.current_concurrent_updates if self.app else 0
        self.log.append((time.monotonic(), url.rsplit("/", 1)[-1], chat, held))
        if self.latency:
            await asyncio.sleep(self.latency)
        return await super().do_request(url, method, request_data, *args, **kwargs)


@dataclass
class Flood:
    """What one flood did: when B was answered and A drained (seconds after the bot started), the
    Bot API calls for A made before B's answer, and what each chat was sent."""

    count: int
    paced: bool
    answered_s: float
    drained_s: float
    flooder_calls_before_answer: int
    held: int  # processing slots held at most while a call for A was made (B's included)
    sent_ids: list[int]  # A's message ids, in the order A sent them
    deleted_ids: list[int]  # A's message ids, in the order they were deleted
    flooder_replies: int
    emergency_text: str


def to(api: FakeTelegram, method: str, chat: int) -> list[dict[str, Any]]:
    return [p for p in api.of(method) if int(p.get("chat_id", 0)) == chat]


async def flood(count: int = 500, *, paced: bool = False, latency: float = 0.004) -> Flood:
    api = FakeTelegram()
    request = Timed(api, latency=latency)
    app = build_application(settings(), make_service(), request=request)
    request.app = app
    if not paced:
        unpaced(app)
    burst = [message(api, FLOODER, f"Forwarded {i}: Jane Smith, 12 High Street") for i in range(count)]
    async with running(app):
        for raw in [*burst, message(api, OTHER, "/emergency")]:
            await app.update_queue.put(Update.de_json(raw, app.bot))
        started = time.monotonic()
        await app.start()
        try:
            await api.until(lambda: bool(to(api, "sendMessage", OTHER)), 60, "B's reply")
            await api.until(lambda: len(to(api, "deleteMessage", FLOODER)) == count, 120, "A's deletions")
            drained = time.monotonic() - started
        finally:
            await app.stop()
    answer = next(i for i, (_, m, c, _) in enumerate(request.log) if m == "sendMessage" and c == OTHER)
    return Flood(
        count=count,
        paced=paced,
        answered_s=request.log[answer][0] - started,
        drained_s=drained,
        flooder_calls_before_answer=sum(1 for _, _, c, _ in request.log[:answer] if c == FLOODER),
        held=max(h for _, _, c, h in request.log if c == FLOODER),
        sent_ids=[raw["message"]["message_id"] for raw in burst],
        deleted_ids=[int(p["message_id"]) for p in to(api, "deleteMessage", FLOODER)],
        flooder_replies=len(to(api, "sendMessage", FLOODER)),
        emergency_text=str(to(api, "sendMessage", OTHER)[0]["text"]),
    )
