"""Fuzzed conversations: hypothesis drives the real PTB Application, handlers and store with random
sequences of updates from several practitioners at once, and checks the promises after every one.

Updates: every command in any state, live buttons, buttons replayed from any earlier screen (dead
or alive), buttons from another practitioner's chat, forged, tampered and oversized callback
data, free text, stickers, photos with captions, shared contacts, edited and forwarded messages,
group, supergroup and channel posts, presses from groups and inline messages, redelivered update
ids, and bursts of concurrent presses. Invariants, after every step:

- no handler failed and the error handler never fired (no ERROR log line at all);
- every new private update got a reply (an answered query, or a message sent or edited in *that*
  chat), and nothing was sent to any other chat;
- every stored conversation is a state the machine knows, with answer codes the content defines
  (``flow.load`` succeeds and round-trips), and nothing typed is stored or logged;
- an update for one practitioner never changes another's stored conversation;
- a redelivered update changes nothing;
- every open check can be continued: a live button carries its current check id and version;
- an outcome is sent once per finished check, never twice;
- ``/emergency`` answers with 999 from anywhere and leaves the check as it was.

The fast version runs on the in-memory store; a smaller one on SQLite (``SqlStore``); both replay
the same sequences on every run (``derandomize``). ``make soak`` runs many more and longer
sequences, new ones each time.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import json
import logging
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import text
from telegram import Update

from bot.telegram import callbacks
from bot.telegram.handlers import COMMANDS
from storage.base import ABANDONED, ConversationStore, chat_key
from storage.sql.schema import migrate
from storage.sql.store import SqlStore
from testkit.botapi import BOT_ID, message, press
from testkit.checked_store import ContentCheckedStore
from testkit.memory_store import MemoryStore
from testkit.soak import SOAK, Telegram, build, flow, level_of, scale
from testkit.telegram_harness import TOKEN

CHATS = (610001, 610002, 610003)
GROUP = -1001234
IDENTIFYING = ["Jane Smith", "14/03/2012", "12 High Street, Falkirk", "07700 900123", "Falkirk High"]
COMMAND_TEXTS = [
    *(f"/{name}" for name, _ in COMMANDS),
    "/stats",
    "/start check",
    "/start emergency",
    "/start nonsense",
    "/check@cse_check_bot",
    "/check@someone_else_bot",
    "/CHECK",
    "/unknown",
    "/emergency now please",
]
MEDIA: dict[str, dict[str, Any]] = {
    "sticker": {
        "sticker": {
            "file_id": "s1",
            "file_unique_id": "s1u",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
    },
    "photo": {"photo": [{"file_id": "p1", "file_unique_id": "p1u", "width": 9, "height": 9}]},
    "contact": {"contact": {"phone_number": "07700 900123", "first_name": "Jane", "last_name": "Smith"}},
    "location": {"location": {"latitude": 56.0019, "longitude": -3.7839}},
    "document": {"document": {"file_id": "d1", "file_unique_id": "d1u", "file_name": "jane-smith.pdf"}},
    "voice": {"voice": {"file_id": "v1", "file_unique_id": "v1u", "duration": 3}},
}
Stats = list[tuple[int, int, int]]  # per sequence: outcomes sent, updates fed, deepest version
SCREEN_METHODS = ("sendMessage", "editMessageText")


class Capture(logging.Handler):
    """Every log record of the run, formatted, for the log invariants."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> str:
        return "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in self.records)


class Practitioners(RuleBasedStateMachine):
    """Several practitioners at once, against one bot over the in-memory store."""

    def __init__(self, stats: Stats) -> None:
        super().__init__()
        self.stats = stats
        self.loop = asyncio.new_event_loop()
        self.log = Capture()
        logging.getLogger().addHandler(self.log)
        self._levels = {n: logging.getLogger(n).level for n in ("bot", "storage")}
        for name in self._levels:
            logging.getLogger(name).setLevel(logging.DEBUG)
        self.api = Telegram()
        self.store = self.make_store()
        self.app, self.service, conf = build(self.store, self.api)
        self.secret = conf.chat_key_bytes()
        self.keys = {chat: chat_key(self.secret, BOT_ID, chat) for chat in CHATS}
        self.run(self.app.initialize())
        self.run(self.app.post_init(self.app))
        self.seen: list[tuple[int, int, str]] = []  # every (chat, message id, data) ever shown
        self.seen_set: set[tuple[int, int, str]] = set()
        self.fed: list[tuple[int | None, dict[str, Any]]] = []
        self.typed: list[str] = []
        self.outcomes_sent = 0
        self.serial = 0

    # -- plumbing -----------------------------------------------------------------------------------
    def make_store(self) -> ConversationStore:
        return MemoryStore()

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(asyncio.wait_for(coro, 30))

    def rows(self) -> dict[str, tuple[str, int, dict[str, Any]]]:
        """key → (check id, version, data) of every stored conversation."""
        assert isinstance(self.store, MemoryStore)
        return {k: (r.check_id, r.version, copy.deepcopy(r.data)) for k, (r, _) in self.store.rows.items()}

    def stored_text(self) -> str:
        return json.dumps(self.rows())

    def finished(self) -> int:
        counts = self.run(self.store.outcome_counts(since=dt.date.min))
        return sum(n for _, level, _, _, n in counts if level != ABANDONED)

    def teardown(self) -> None:
        self.stats.append(
            (self.outcomes_sent, len(self.fed), max((r[1] for r in self.rows().values()), default=0))
        )
        try:
            stored = self.stored_text()
            for typed in self.typed:
                assert typed not in stored
            self.run(self.app.post_shutdown(self.app))
            self.run(self.app.shutdown())
        finally:
            self.loop.close()
            logging.getLogger().removeHandler(self.log)
            for name, level in self._levels.items():
                logging.getLogger(name).setLevel(level)

    def group(self) -> int:
        """A new group each time (PTB paces each group to 20 messages a minute)."""
        self.serial += 1
        return GROUP - self.serial

    def typed_text(self, body: str) -> str:
        self.serial += 1
        typed = f"T{self.serial:04d}x {body}".strip()
        self.typed.append(typed)
        return typed

    def feed(self, chat: int | None, raw: dict[str, Any], *, again: bool = False) -> None:
        """Process one update and check what it did (see the module docstring)."""
        before, n = self.rows(), len(self.api.calls)
        self.run(self.app.process_update(Update.de_json(raw, self.app.bot)))
        if not again:
            self.fed.append((chat, raw))
        self.check_effects(before, n, {chat} if chat is not None else set(), [raw], again=again)

    def check_effects(
        self, before: dict[str, Any], n: int, chats: set[int], raws: list[dict[str, Any]], *, again: bool
    ) -> None:
        calls = self.api.calls[n:]
        after = self.rows()
        others = {self.keys[c] for c in CHATS if c not in chats}
        for key in others:
            assert before.get(key) == after.get(key), "an update changed another practitioner's check"
        if again:
            assert before == after, "a redelivered update changed a check"
        allowed = chats | {_chat_id(r) for r in raws if _chat_type(r) != "private"}
        for call in calls:
            if "chat_id" in call.params:
                assert int(call.params["chat_id"]) in allowed, f"{call.method} went to another chat"
            if call.method == "sendMessage" and level_of(str(call.params.get("text", ""))):
                self.outcomes_sent += 1
        for chat in chats:
            for mid, _, data in self.api.buttons(chat):
                if (chat, mid, data) not in self.seen_set:
                    self.seen_set.add((chat, mid, data))
                    self.seen.append((chat, mid, data))
        for raw in raws:
            if again or _chat_type(raw) != "private" or _is_service(raw):
                continue
            if "callback_query" in raw:
                qid = raw["callback_query"]["id"]
                assert any(
                    c.method == "answerCallbackQuery" and c.params["callback_query_id"] == qid for c in calls
                ), "a button press was not answered"
            else:
                chat = raw[_kind(raw)]["chat"]["id"]
                assert any(c.method in SCREEN_METHODS and int(c.params["chat_id"]) == chat for c in calls), (
                    "a private message got no reply"
                )

    # -- rules ----------------------------------------------------------------------------------------
    @initialize()
    def one_check_to_its_outcome(self) -> None:
        """Every sequence starts with one practitioner's whole check (first answer, Done, every
        invariant after each update), so the rules below also meet a finished check and the
        buttons of every step, and the fuzz always reaches deep states however it draws."""
        chat = CHATS[0]
        self.feed(chat, message(self.api, chat, "/check"))
        for _ in range(40):
            if self.outcomes_sent:
                return
            forward: list[tuple[int, str, str]] = []
            for mid, _, data in self.api.buttons(chat):
                pressed = callbacks.decode(self.secret, self.keys[chat], data)
                if pressed and pressed.check_id and pressed.action.split(":")[0] in ("a", "done"):
                    forward.append((mid, pressed.action, data))
            assert forward, "the check stopped before its outcome: no button continues it"
            newest = [b for b in forward if b[0] == max(m for m, _, _ in forward)]
            mid, _, data = next((b for b in newest if b[1] == "done"), newest[0])
            self.feed(chat, press(chat, data, mid))
        raise AssertionError("one check did not reach its outcome in 40 presses")

    @rule(chat=st.sampled_from(CHATS), command=st.sampled_from(COMMAND_TEXTS))
    def command(self, chat: int, command: str) -> None:
        self.feed(chat, message(self.api, chat, command))

    @rule(chat=st.sampled_from(CHATS))
    def emergency(self, chat: int) -> None:
        before = self.rows().get(self.keys[chat])
        n = len(self.api.calls)
        self.feed(chat, message(self.api, chat, "/emergency"))
        sent = [str(c.params["text"]) for c in self.api.calls[n:] if c.method == "sendMessage"]
        assert sent and "999" in sent[0], "/emergency must show 999 first"
        assert self.rows().get(self.keys[chat]) == before, "/emergency must leave the check as it was"

    @rule(pick=st.integers(min_value=0, max_value=10_000), chats=st.sets(st.sampled_from(CHATS)))
    def tap_live(self, pick: int, chats: set[int]) -> None:
        """Press a live button, as a practitioner would (mostly moves checks forward)."""
        live = [(c, m, d) for c in sorted(chats or CHATS) for m, _, d in self.api.buttons(c)]
        if live:
            chat, mid, data = live[pick % len(live)]
            self.feed(chat, press(chat, data, mid))

    @rule(chat=st.sampled_from(CHATS), picks=st.lists(st.integers(0, 10_000), min_size=1, max_size=8))
    def advance(self, chat: int, picks: list[int]) -> None:
        """Move one practitioner's check forward a few steps (answers, ticks, Done), as most do."""
        for pick in picks:
            live = self.api.buttons(chat)
            forward = []
            for mid, _, data in live:
                pressed = callbacks.decode(self.secret, self.keys[chat], data)
                if pressed and pressed.check_id and pressed.action.split(":")[0] in ("a", "t", "done"):
                    forward.append((mid, data))
            if not forward:
                start = [(m, d) for m, t, d in live if "Start" in t or "start" in t]
                forward = start[-1:]
            if not forward:
                self.feed(chat, message(self.api, chat, "/check"))
                continue
            newest = max(m for m, _ in forward)
            mine = [(m, d) for m, d in forward if m == newest]
            mid, data = mine[pick % len(mine)]
            self.feed(chat, press(chat, data, mid))

    @rule(picks=st.lists(st.integers(min_value=0, max_value=10_000), min_size=2, max_size=6))
    def burst(self, picks: list[int]) -> None:
        """Presses from several chats at once, processed concurrently, double taps included."""
        live = [(c, m, d) for c in CHATS for m, _, d in self.api.buttons(c)]
        if not live:
            return
        chosen = [live[p % len(live)] for p in picks]
        raws = [press(c, d, m) for c, m, d in chosen]
        before, n = self.rows(), len(self.api.calls)
        updates = [Update.de_json(r, self.app.bot) for r in raws]

        async def together() -> None:  # as PTB runs them: through the update processor
            processor = self.app.update_processor
            await asyncio.gather(*(processor.process_update(u, self.app.process_update(u)) for u in updates))

        self.run(together())
        self.fed += [(c, r) for (c, _, _), r in zip(chosen, raws, strict=True)]
        self.check_effects(before, n, {c for c, _, _ in chosen}, raws, again=False)

    @rule(pick=st.integers(min_value=0, max_value=10_000))
    def tap_recorded(self, pick: int) -> None:
        """Press any button ever shown, on the message it was shown on: old steps, old checks."""
        if self.seen:
            chat, mid, data = self.seen[pick % len(self.seen)]
            self.feed(chat, press(chat, data, mid))

    @rule(pick=st.integers(min_value=0, max_value=10_000), chat=st.sampled_from(CHATS))
    def tap_foreign(self, pick: int, chat: int) -> None:
        """Press, in this chat, a button that was shown in another chat (refused: signed per chat)."""
        foreign = [(m, d) for c, m, d in self.seen if c != chat]
        if foreign:
            mid, data = foreign[pick % len(foreign)]
            self.feed(chat, press(chat, data, mid))

    @rule(
        chat=st.sampled_from(CHATS),
        data=st.one_of(
            st.text(max_size=80),
            st.text(min_size=65, max_size=400),
            st.from_regex(r"[A-Za-z0-9_-]{1,12}\.\d{1,6}\.[a-z]{1,8}(:[a-z0-9_]{1,24})?\.[A-Za-z0-9_-]{8}"),
        ),
    )
    def tap_forged(self, chat: int, data: str) -> None:
        mid = self.api.message_id(chat)
        self.feed(chat, press(chat, data, mid))

    @rule(pick=st.integers(min_value=0, max_value=10_000), flip=st.integers(min_value=0, max_value=63))
    def tap_tampered(self, pick: int, flip: int) -> None:
        """A real button's data with one character changed (a modified client)."""
        if self.seen:
            chat, mid, data = self.seen[pick % len(self.seen)]
            i = flip % len(data)
            forged = data[:i] + ("A" if data[i] != "A" else "B") + data[i + 1 :]
            self.feed(chat, press(chat, forged, mid))

    @rule(chat=st.sampled_from(CHATS), body=st.one_of(st.sampled_from(IDENTIFYING), st.text(max_size=60)))
    def type_text(self, chat: int, body: str) -> None:
        self.feed(chat, message(self.api, chat, self.typed_text(body)))

    @rule(chat=st.sampled_from(CHATS), kind=st.sampled_from(sorted(MEDIA)), caption=st.booleans())
    def send_media(self, chat: int, kind: str, caption: bool) -> None:
        extra = dict(MEDIA[kind])
        if caption:
            extra["caption"] = self.typed_text("caption Jane Smith")
        self.feed(chat, message(self.api, chat, None, **extra))

    @rule(chat=st.sampled_from(CHATS), command=st.booleans())
    def edited(self, chat: int, command: bool) -> None:
        raw = message(self.api, chat, "/check" if command else self.typed_text("edited Jane"))
        raw["edited_message"] = raw.pop("message")
        raw["edited_message"]["edit_date"] = int(time.time())
        self.feed(chat, raw)

    @rule(chat=st.sampled_from(CHATS), command=st.booleans())
    def forwarded(self, chat: int, command: bool) -> None:
        origin = {"type": "hidden_user", "sender_user_name": "Jane Smith", "date": int(time.time())}
        body = "/cancel" if command else self.typed_text("forwarded")
        self.feed(chat, message(self.api, chat, body, forward_origin=origin))

    @rule(
        chat_type=st.sampled_from(["group", "supergroup", "channel"]),
        body=st.sampled_from(["/check", "/emergency", "/forget", "Jane Smith", "hello"]),
    )
    def not_private(self, chat_type: str, body: str) -> None:
        n = len(self.api.calls)
        self.feed(None, message(self.api, self.group(), body, chat_type=chat_type))
        assert any(c.method == "leaveChat" for c in self.api.calls[n:]), "the bot stays out of groups"

    @rule(pick=st.integers(min_value=0, max_value=10_000), inline=st.booleans())
    def tap_outside(self, pick: int, inline: bool) -> None:
        """A press from a group (a forwarded keyboard) or on an inline message: answered, nothing else."""
        data = self.seen[pick % len(self.seen)][2] if self.seen else "-.0.start.xxxxxxxx"
        raw = press(self.group(), data, 1, chat_type="group")
        if inline:
            raw["callback_query"].pop("message")
            raw["callback_query"]["inline_message_id"] = "inl"
        n = len(self.api.calls)
        self.feed(None, raw)
        answered = [c for c in self.api.calls[n:] if c.method == "answerCallbackQuery"]
        assert answered or not inline, "an inline press is answered"

    @rule(pick=st.integers(min_value=0, max_value=10_000))
    def redelivered(self, pick: int) -> None:
        """Telegram sends an update again (same update id): nothing changes, /forget included
        (its update id is recorded in the transaction that deletes, so a check started since stays)."""
        if self.fed:
            chat, raw = self.fed[pick % len(self.fed)]
            self.feed(chat, raw, again=True)

    # -- invariants ----------------------------------------------------------------------------------
    @invariant()
    def nothing_failed(self) -> None:
        errors = [f"{r.name}: {r.getMessage()}" for r in self.log.records if r.levelno >= logging.ERROR]
        assert not errors, errors

    @invariant()
    def stored_conversations_are_codes_the_machine_knows(self) -> None:
        f = flow()
        for check_id, version, data in self.rows().values():
            conv = f.load(data)  # raises on any state or code the content does not define
            assert conv.to_dict() == data and conv.state in f.states
            assert version >= 1 and check_id

    @invariant()
    def nothing_typed_is_kept_or_logged(self) -> None:
        stored, logged = self.stored_text(), self.log.text()
        for typed in self.typed[-5:]:
            assert typed not in stored and typed not in logged
        for secret in ("Jane", TOKEN.split(":")[1]):
            assert secret not in logged, "the logs hold something identifying"
        # Numbers only as whole numbers: "07700" inside update_id=107700 is not the phone number
        # (issue 21 §8), but 07700 or a chat id standing on its own would be.
        for number in ("07700", *map(str, CHATS)):
            assert not re.search(rf"(?<![0-9]){number}(?![0-9])", logged), (
                "the logs hold a number typed or a chat id"
            )
        for _, _, data in self.seen[-20:]:
            assert data not in logged, "the logs hold callback data"

    @invariant()
    def every_open_check_can_be_continued(self) -> None:
        for chat in CHATS:
            row = self.rows().get(self.keys[chat])
            if row is None:
                continue
            check_id, version, _ = row
            live = [callbacks.decode(self.secret, self.keys[chat], d) for _, _, d in self.api.buttons(chat)]
            assert any(p and p.check_id == check_id and p.version == version for p in live), (
                "a check is open but no button on screen can continue it"
            )

    @invariant()
    def an_outcome_is_sent_once_per_finished_check(self) -> None:
        assert self.outcomes_sent == self.finished()


class SqlitePractitioners(Practitioners):
    """The same, over SqlStore on a SQLite file (a migrated template copied per run)."""

    template: ClassVar[Path | None] = None

    def make_store(self) -> ConversationStore:
        cls = type(self)
        if cls.template is None:
            folder = Path(tempfile.mkdtemp(prefix="cse-fuzz-"))
            cls.template = folder / "template.sqlite3"
            migrate(f"sqlite:///{cls.template}")
        self.folder = Path(tempfile.mkdtemp(prefix="cse-fuzz-"))
        path = self.folder / "bot.sqlite3"
        shutil.copy(cls.template, path)
        self.path = path
        return ContentCheckedStore(url=f"sqlite:///{path}", ttl=dt.timedelta(hours=24), validate=flow().load)

    def rows(self) -> dict[str, tuple[str, int, dict[str, Any]]]:
        assert isinstance(self.store, SqlStore)
        with self.store.engine.connect() as conn:
            found = conn.execute(text("SELECT key, check_id, version, data FROM conversation")).all()
        return {k: (c, v, json.loads(d) if isinstance(d, str) else d) for k, c, v, d in found}

    def teardown(self) -> None:
        try:
            super().teardown()
            raw = b"".join(p.read_bytes() for p in self.folder.iterdir() if p.is_file())
            for typed in self.typed:
                assert typed.encode() not in raw, "typed text in the database file"
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def _kind(raw: dict[str, Any]) -> str:
    return next(k for k in raw if k != "update_id")


def _chat_type(raw: dict[str, Any]) -> str:
    body = raw[_kind(raw)]
    chat = body.get("chat") or (body.get("message") or {}).get("chat") or {}
    return str(chat.get("type", "none"))


def _chat_id(raw: dict[str, Any]) -> int:
    body = raw[_kind(raw)]
    chat = body.get("chat") or (body.get("message") or {}).get("chat") or {}
    return int(chat.get("id", 0))


def _is_service(raw: dict[str, Any]) -> bool:
    """A press on an inline message has no chat to reply in (it is answered, checked in its rule)."""
    return "callback_query" in raw and "message" not in raw["callback_query"]


# The short run (make test) replays the same sequences every time, so it fails only when the bot
# changes; the soak run (make soak) draws new ones on every run.
_FAST = settings(
    max_examples=scale(20, 300),
    stateful_step_count=scale(60, 100),
    deadline=None,
    derandomize=not SOAK,
    database=None if not SOAK else settings.default.database,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
_SQL = settings(_FAST, max_examples=scale(8, 60), stateful_step_count=scale(40, 80))


def fuzz(machine: type[Practitioners], config: settings) -> Stats:
    """Run the state machine's sequences; return what each one reached."""
    stats: Stats = []
    run_state_machine_as_test(lambda: machine(stats), settings=config)
    return stats


def reached_deep_states(stats: Stats) -> None:
    """The sequences must get somewhere: outcomes reached, checks many steps deep."""
    outcomes, updates = sum(s[0] for s in stats), sum(s[1] for s in stats)
    deepest = max(s[2] for s in stats)
    print(f"fuzz: {len(stats)} sequences, {updates} updates, {outcomes} outcomes, deepest version {deepest}")
    assert outcomes >= 5 and deepest >= 8, "the fuzzed sequences stayed near the start"


def test_fuzzed_conversations_in_memory() -> None:
    reached_deep_states(fuzz(Practitioners, _FAST))


def test_fuzzed_conversations_on_sqlite() -> None:
    fuzz(SqlitePractitioners, _SQL)
