"""Numbers a practitioner can tap (issue 12, §6).

On a phone the point of an outcome is to ring someone, and Telegram links a number only in
international form. Every non-emergency number in every outcome (each level, each service, in and
out of hours) and every lookup is sent as "+44 …" in the grouping a UK reader knows; 999, 112 and
101 stay as they are. (The terminal keeps the national form: ``tests/console/test_national_numbers.py``.)
"""

from __future__ import annotations

import datetime as dt
import re

import phonenumbers
import pytest

from flows.contacts import EXAMPLE_CONTACTS, load_directory
from flows.screens import LOOKUPS
from testkit.helpers import NATIONAL
from testkit.soak import unpaced
from testkit.telegram_harness import running_bot

CHAT = 5550202
OUTCOMES = [("🚨 Yes, in danger now", ()), ("No", ("Assault",)), ("No", ("Poverty",)), ("No", ())]
TIMES = {"in hours": dt.datetime(2026, 12, 2, 10, 0), "out of hours": dt.datetime(2026, 12, 5, 21, 40)}
SHORT = {"999", "112", "101"}


def directory_numbers() -> set[str]:
    """Every full number in the example contacts file, as digits after the 0."""
    text = EXAMPLE_CONTACTS.read_text()
    return {re.sub(r"\D", "", m)[1:] for m in re.findall(r"phone: '(0[\d ]+)'", text)}


def numbers_in(text: str) -> list[str]:
    """Every possible phone number in a message (7 digits or more: not a time like "08:30-16"), as
    written there; short codes (999, 101, 116 123) are left out."""
    found = phonenumbers.PhoneNumberMatcher(text, "GB", leniency=phonenumbers.Leniency.POSSIBLE)
    return [
        m.raw_string
        for m in found
        if len(re.sub(r"\D", "", m.raw_string)) >= 7 and not phonenumbers.is_valid_short_number(m.number)
    ]


def assert_tappable(text: str) -> set[str]:
    assert not NATIONAL.findall(text), f"a number in national form: {NATIONAL.findall(text)}"
    numbers = numbers_in(text)
    for number in numbers:
        assert re.fullmatch(r"\+44 \d{3,4}( \d{3,6}){1,2}", number), number
    return {re.sub(r"\D", "", n)[2:] for n in numbers}


@pytest.mark.parametrize("when", sorted(TIMES))
async def test_every_number_in_every_outcome_and_lookup_is_sent_in_international_form(when: str) -> None:
    services = [label for _, label in load_directory(EXAMPLE_CONTACTS).services]
    seen: set[str] = set()
    async with running_bot(now=TIMES[when]) as bot:
        unpaced(bot.app)
        chat = CHAT
        for service in services:
            for danger, ticks in OUTCOMES:
                chat += 1
                await bot.walk_to_outcome(chat, danger=danger, ticks=ticks, service=service)
                outcome = bot.last_text(chat)
                assert "Who to contact" in outcome
                seen |= assert_tappable(outcome)
                assert "<b>999</b>" in outcome, "999 stays as it is"
        for name in LOOKUPS:
            chat += 1
            await bot.send(chat, f"/{name}")
            seen |= assert_tappable(bot.texts(chat))
        chat += 1
        await bot.send(chat, "/check")
        await bot.send(chat, "/cancel")
        seen |= assert_tappable(bot.texts(chat))
        texts = "\n".join(bot.api.sent_texts())
    assert "<b>101</b>" in texts or when == "in hours", "101 stays as it is"
    office = "+44 1324 503650" if when == "in hours" else "+44 1786 470500"
    assert office in texts, "the social work number, in the grouping a UK reader knows"
    # Every number of the contacts file that the route shows at this time was seen, linked.
    assert seen and seen <= directory_numbers() | {"8088005000", "8001111", "8081000900"}
