"""Shared fixtures: the shipped content, a flow over it, and a service on the in-memory store."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.service import CheckService
from flows.contacts import GenericDirectory
from flows.machine import Flow
from flows.schema import Content, load_content
from storage.memory import MemoryStore

LONDON = ZoneInfo("Europe/London")
WEEKDAY_MORNING = dt.datetime(2026, 12, 2, 10, 0, tzinfo=LONDON)


@pytest.fixture(scope="session")
def content() -> Content:
    return load_content()


@pytest.fixture(scope="session")
def flow(content: Content) -> Flow:
    return Flow(content)


@pytest.fixture
def service(flow: Flow) -> CheckService:
    return CheckService(
        flow=flow, store=MemoryStore(), directory=GenericDirectory(), clock=lambda: WEEKDAY_MORNING
    )
