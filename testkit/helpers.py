"""Helpers shared by every kind of test: a free port, a button found by its label, the Application
started and stopped the way the bot does it, a web server on 127.0.0.1, and the bot as a process.

Nothing here waits for a fixed time: waiting is for an event, with a deadline
(:meth:`testkit.botapi.FakeTelegram.until`, :func:`wait_started`, :func:`eventually`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import socket
import sys
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tornado.httpserver
import tornado.netutil
import tornado.web

from testkit.deploy import filled_contacts

if TYPE_CHECKING:
    from testkit.botapi import FakeTelegram

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123456789:" + "A" * 35
# A UK number in national form ("01324 503650"): the terminal shows numbers so, Telegram must not.
NATIONAL = re.compile(r"(?<![\d+])0\d{2,4}(?: ?\d{2,4}){1,3}(?!\d)")


def free_port() -> int:
    """A port free on 127.0.0.1 now, for a server that must be told its port (PostgreSQL).

    Servers started here listen on port 0 instead (:func:`listening`), which cannot collide.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_button(buttons: Iterable[tuple[int, str, str]], label: str) -> tuple[int, str]:
    """The newest button labelled ``label`` (else the newest whose label contains it), as
    (message id, callback data), from (message id, label, callback data) triples; LookupError
    naming the labels there are if there is none."""
    live = list(buttons)
    matches = [(mid, data) for mid, text, data in live if text == label]
    matches = matches or [(mid, data) for mid, text, data in live if label in text]
    if not matches:
        raise LookupError(f"no button {label!r} in {[text for _, text, _ in live]}")
    return matches[-1]


async def eventually(condition: Callable[[], object], what: str, timeout: float = 10.0) -> None:
    """Wait until ``condition()`` holds, looking again every 5 ms (for what no double announces:
    a signal handled, a line logged); fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, f"timed out after {timeout:g} s waiting for {what}"
        await asyncio.sleep(0.005)


@contextlib.asynccontextmanager
async def running(app: Any) -> AsyncIterator[Any]:
    """The Application initialised with its post_init, then shut down with its post_shutdown, as
    ``run_polling`` does, but without polling: the test feeds updates itself."""
    async with app:
        if app.post_init is not None:
            await app.post_init(app)
        try:
            yield app
        finally:
            if app.post_shutdown is not None:
                await app.post_shutdown(app)


@contextlib.asynccontextmanager
async def listening(web: tornado.web.Application, **options: Any) -> AsyncIterator[str]:
    """Serve a tornado application on 127.0.0.1 (a port of its own); yield its base URL."""
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    server = tornado.httpserver.HTTPServer(web, **options)
    server.add_sockets(sockets)
    try:
        yield f"http://127.0.0.1:{sockets[0].getsockname()[1]}"
    finally:
        server.stop()
        await server.close_all_connections()


# -- the bot as a separate process -----------------------------------------------------------------
def bot_env(tmp_path: Path, api_url: str, **extra: str) -> dict[str, str]:
    """The environment of a bot process in polling mode against the Bot API double at ``api_url``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=api_url,
        CHAT_KEY_SECRET=secrets.token_urlsafe(32),
        CONTACTS_FILE=str(filled_contacts(tmp_path)),
        BOT_MODE="polling",
        LOG_LEVEL="DEBUG",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


async def start_bot(env: dict[str, str], log: Path, **options: Any) -> asyncio.subprocess.Process:
    """``python -m bot telegram`` with ``env``, its output in ``log`` (``options``: for the process,
    e.g. ``preexec_fn``)."""
    with log.open("wb") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "telegram", cwd=str(ROOT), env=env, stdout=out, stderr=out, **options
        )


async def wait_started(
    api: FakeTelegram, procs: Sequence[asyncio.subprocess.Process], *, commands: int, timeout: float = 60
) -> None:
    """Wait until the Bot API double has had ``commands`` setMyCommands calls in all (each bot
    process makes one when its start-up is done); fail at once if a process exits instead."""
    ready = asyncio.ensure_future(
        api.until(lambda: len(api.of("setMyCommands")) >= commands, timeout, "the bot to start")
    )
    exits = [asyncio.ensure_future(p.wait()) for p in procs]
    try:
        await asyncio.wait([ready, *exits], return_when=asyncio.FIRST_COMPLETED)
        assert ready.done(), "a bot process exited during start-up"
        ready.result()
    finally:
        for task in (ready, *exits):
            task.cancel()


@contextlib.asynccontextmanager
async def bot_processes(
    api: FakeTelegram, envs: dict[Path, dict[str, str]]
) -> AsyncIterator[list[asyncio.subprocess.Process]]:
    """One bot process per (log file, environment), started and ready; all stopped at the end."""
    procs: list[asyncio.subprocess.Process] = []
    try:
        for log, env in envs.items():
            procs.append(await start_bot(env, log))
        await wait_started(api, procs, commands=len(api.of("setMyCommands")) + len(procs))
        yield procs
    finally:
        for proc in procs:
            await stop_bot(proc)


async def stop_bot(proc: asyncio.subprocess.Process) -> None:
    """Stop a bot process: SIGTERM, then SIGKILL if it has not gone within 15 s."""
    if proc.returncode is None:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()
            await proc.wait()
