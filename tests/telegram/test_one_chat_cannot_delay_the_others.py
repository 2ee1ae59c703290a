"""One chat must not delay everyone (issue 12, §1).

Chat A queues 500 typed messages (forwarding 100 messages is one action in Telegram), then chat B
sends /emergency (the run: ``testkit/flood.py``). Through the real Application, its update queue
and update processor, and PTB's request layer: B is answered before A's burst is worked through (at
most a few of A's messages are dealt with first, however fast the machine), A holds at most one
processing slot, every one of A's messages is deleted in the order it arrived, and A gets one reply
for the burst. How long B waits is a figure of the benchmark (``make bench``, docs/benchmarks.md).

Every Bot API call takes 4 ms, as a network round trip would. Short version (``make test``): the
bot's own pacing is off. Soak (``CSE_SOAK=1``): PTB's real 30-messages-a-second pacing, as in the
attack (B waited 30.6 s before the fix).
"""

from __future__ import annotations

from testkit.flood import flood
from testkit.soak import SOAK

FLOOD = 500


async def test_a_flooding_chat_holds_one_slot_and_another_chats_emergency_is_answered_before_the_flood() -> (
    None
):
    run = await flood(FLOOD, paced=SOAK)
    print(
        f"\nflood of {FLOOD} ({'paced at 30/s' if SOAK else 'unpaced'}, 4 ms per call): "
        f"/emergency from another chat answered after {run.answered_s:.3f} s, "
        f"{run.flooder_calls_before_answer} calls for the flooder before it; slots held at most {run.held}; "
        f"{run.flooder_replies} reply to the flooder; all deleted after {run.drained_s:.1f} s"
    )
    # Before the fix B waited behind the whole burst (A held every slot): a few of A's calls at most.
    first = run.flooder_calls_before_answer
    assert first <= FLOOD // 50, f"/emergency from another chat waited for {first} of the flooder's calls"
    assert "999" in run.emergency_text
    assert run.held <= 2, f"the flooding chat (with B) held {run.held} processing slots"
    assert run.deleted_ids == run.sent_ids, "every message deleted, in order"
    assert run.flooder_replies == 1, f"{run.flooder_replies} replies to one burst"
