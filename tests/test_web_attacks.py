"""The web page under attack (issue 21), over a real uvicorn server on 127.0.0.1 where the
attack needs one (bodies that never arrive, slow clients), else Starlette's test client.

Every attack is bounded in count and time; each test prints the figure docs/reliability.md quotes
(run with ``-s``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from bot.service import CheckService
from bot.web.routes import create_app
from bot.web.server import serve_beside
from flows.schema import Content
from tests.helpers import free_port
from tests.test_web import SECRET, client_for, designated, make_service

BODY_TIMEOUT = 0.5


@contextlib.asynccontextmanager
async def running(app: Starlette) -> AsyncIterator[int]:
    """The app on uvicorn on 127.0.0.1 (as WEB_ENABLED serves it); yields the port."""
    port, stop = free_port(), asyncio.Event()
    task = asyncio.ensure_future(serve_beside(app, host="127.0.0.1", port=port, stop=stop))
    deadline = time.monotonic() + 10
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            break
        except OSError:
            assert time.monotonic() < deadline, "the page did not listen"
            await asyncio.sleep(0.02)
    try:
        yield port
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def exchange(port: int, raw: bytes, *, wait: float = 5.0) -> tuple[bytes, float]:
    """Send ``raw``, then read until the server closes the connection (or ``wait`` passes)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    t0 = time.monotonic()
    writer.write(raw)
    await writer.drain()
    answer = b""
    with contextlib.suppress(TimeoutError, OSError):
        async with asyncio.timeout(wait):
            while chunk := await reader.read(65536):
                answer += chunk
    writer.close()
    return answer, time.monotonic() - t0


def safety_page(content: Content, service: CheckService, answer: bytes) -> None:
    head, _, body = answer.partition(b"\r\n\r\n")
    headers = head.decode("latin-1").lower()
    assert "content-security-policy: default-src 'none'" in headers
    assert "cache-control: no-store" in headers
    assert b'href="tel:999"' in body
    assert designated(content, service).encode() in body


# -- §6 every failure shows 999 -------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/static/a%00", "/static/%00", "/look/a%00"])
def test_a_request_that_breaks_something_still_gets_999_with_the_headers_and_one_log_line(
    content: Content, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    service = make_service(content)
    with client_for(service) as client, caplog.at_level(logging.INFO):
        answer = client.get(path)
    assert answer.status_code in (400, 404, 500)
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    assert answer.headers["cache-control"] == "no-store"
    assert 'href="tel:999"' in answer.text and designated(content, service) in answer.text
    assert "Traceback" not in caplog.text
    assert all(len(r.getMessage()) < 120 and r.exc_info is None for r in caplog.records)


def test_a_failure_below_every_route_gets_the_safety_page(
    content: Content, caplog: pytest.LogCaptureFixture
) -> None:
    """Whatever raises outside a route's own guard gets the safety page and one line naming the
    error's type (here an endpoint added without the guard)."""
    service = make_service(content)
    app = create_app(service, secret=SECRET, ttl_hours=1)

    async def broken(_request: Request) -> Response:
        raise ValueError("embedded null byte")

    app.router.routes.insert(0, Route("/boom", broken))
    with TestClient(app) as client, caplog.at_level(logging.INFO):
        answer = client.get("/boom")
    assert answer.status_code == 500
    assert 'href="tel:999"' in answer.text and answer.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert lines == ["web: request failed: ValueError"]


def test_no_redirect_is_built_from_the_host_header(content: Content) -> None:
    with client_for(make_service(content)) as client:
        for path in ("/look/emergency/", "/quick-reference/", "/static/"):
            answer = client.get(path, headers={"host": "evil.example"}, follow_redirects=False)
            assert not answer.is_redirect, (path, answer.headers.get("location"))
            assert "evil.example" not in answer.headers.get("location", "")
            assert 'href="tel:999"' in answer.text


# -- §2 bodies ---------------------------------------------------------------------------------
def post(path: str, length: int, body: bytes = b"", chunked: bool = False) -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    head += "Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {length}\r\n"
    return head.encode() + b"\r\n" + body


async def test_a_huge_declared_body_is_refused_before_it_is_read(content: Content) -> None:
    service = make_service(content)
    async with running(create_app(service, secret=SECRET, ttl_hours=1, body_timeout=BODY_TIMEOUT)) as port:
        answer, took = await exchange(port, post("/start", 200_000_000, b"csrf=" + b"a" * 60_000))
    print(f"\n200 MB declared: {answer.split(b' ', 2)[1].decode()} after {took:.3f} s")
    assert answer.startswith(b"HTTP/1.1 413 ")
    safety_page(content, service, answer)
    assert took < BODY_TIMEOUT, "refused at once, not after reading or waiting"


async def test_a_chunked_body_is_cut_off_at_the_limit(content: Content) -> None:
    service = make_service(content)
    chunk = b"400\r\n" + b"a" * 1024 + b"\r\n"
    async with running(create_app(service, secret=SECRET, ttl_hours=1, body_timeout=5)) as port:
        answer, took = await exchange(port, post("/start", 0, chunk * 64, chunked=True))
    print(f"\n64 KB chunked: {answer.split(b' ', 2)[1].decode()} after {took:.3f} s")
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"connection: close" in answer.lower()
    safety_page(content, service, answer)


@pytest.mark.parametrize("path", ["/start", "/act", "/feedback", "/clear"])
async def test_a_body_declared_but_never_sent_is_not_waited_on(content: Content, path: str) -> None:
    service = make_service(content)
    async with running(create_app(service, secret=SECRET, ttl_hours=1, body_timeout=BODY_TIMEOUT)) as port:
        answer, took = await exchange(port, post(path, 1000, b"csrf="), wait=BODY_TIMEOUT * 10)
    print(f"\n{path}, 1,000 bytes declared, 5 sent: {answer.split(b' ', 2)[1].decode()} after {took:.2f} s")
    assert answer.startswith(b"HTTP/1.1 400 ")
    safety_page(content, service, answer)
    assert took < BODY_TIMEOUT + 2, "answered and closed soon after the body timeout"


async def test_a_good_form_still_works_over_a_real_server(content: Content) -> None:
    service = make_service(content)
    app = create_app(service, secret=SECRET, ttl_hours=1, body_timeout=BODY_TIMEOUT)
    async with running(app) as port, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        welcome = await client.get("/")
        csrf = re.search(r'name="csrf" value="([^"]*)"', welcome.text)
        assert csrf
        answer = await client.post("/start", data={"csrf": csrf.group(1), "action": "start"})
        assert answer.status_code == 303
