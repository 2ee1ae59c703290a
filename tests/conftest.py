"""Shared fixtures (the shipped content, a flow over it, a service on the in-memory store, and the
database fixtures of ``testkit/db_fixtures.py``), and two rules for every test:

- a test that starts a process (the bot, the terminal check, a PostgreSQL tool) is marked ``slow``,
  or it fails saying so;
- ``slow`` tests are collected first, so that pytest-xdist starts the long ones before the many
  short ones and no worker is left with a long test at the end (`--dist worksteal`, in the
  Makefile, lets an idle worker take half of the queue of a busy one).
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot import wiring
from bot.service import CheckService
from flows.contacts import GenericDirectory
from flows.machine import Flow
from flows.schema import Content
from testkit.memory_store import MemoryStore
from testkit.shipped import shipped_content

pytest_plugins = ["testkit.db_fixtures"]
LONDON = ZoneInfo("Europe/London")
WEEKDAY_MORNING = dt.datetime(2026, 12, 2, 10, 0, tzinfo=LONDON)


@pytest.fixture(scope="session")
def content() -> Content:
    return shipped_content()


@pytest.fixture(scope="session")
def flow(content: Content) -> Flow:
    return Flow(content)


@pytest.fixture
def service(flow: Flow) -> CheckService:
    return wiring.check_service(
        flow=flow, store=MemoryStore(), directory=GenericDirectory(), clock=lambda: WEEKDAY_MORNING
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable: slow ones first


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Fail a test that starts a process while not marked ``slow`` (fixtures' set-up is not counted)."""
    started: list[str] = []
    popen_init = subprocess.Popen.__init__

    def spy(self: subprocess.Popen[Any], args: Any, *rest: Any, **kwargs: Any) -> None:
        started.append(str(args if isinstance(args, str) else args[0]))
        popen_init(self, args, *rest, **kwargs)

    subprocess.Popen.__init__ = spy  # type: ignore[method-assign]
    try:
        yield
    finally:
        subprocess.Popen.__init__ = popen_init  # type: ignore[method-assign]
    if started and item.get_closest_marker("slow") is None:
        raise AssertionError(f"this test starts processes ({', '.join(sorted(set(started)))}): mark it slow")
