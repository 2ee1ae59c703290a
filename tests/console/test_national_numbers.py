"""The terminal shows numbers in the national form a UK reader dials ("01324 503650"), never the
"+44" form Telegram needs to make a number tappable (issue 12, §6)."""

from __future__ import annotations

from bot.render import to_text
from testkit.helpers import NATIONAL
from testkit.telegram_harness import make_service


def test_the_terminal_keeps_the_national_form() -> None:
    service = make_service()
    text = to_text(service.screens.lookup("emergency", service.context()))
    assert "+44" not in text and NATIONAL.search(text)
