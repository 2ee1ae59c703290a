"""A chat key secret that is easy to guess is refused at start-up, saying why and without
repeating it; a random one is accepted whatever it happens to contain (issue 12, §5)."""

from __future__ import annotations

import secrets

import pytest

from bot.config import Settings
from testkit.telegram_harness import TOKEN


def problems(secret: str) -> list[str]:
    settings = Settings(telegram_bot_token=TOKEN, chat_key_secret=secret, contacts_file="contacts.yaml")
    return [p for p in settings.telegram_problems() if p.startswith("CHAT_KEY_SECRET")]


@pytest.mark.parametrize(
    "secret",
    [
        "ab" * 20,
        "1234567890" * 4,
        "abcdefghijklmnopqrstuvwxyzabcdefgh",
        "qwertyuiopasdfghjklzxcvbnmqwertyui",
        "replace-with-32-or-more-random-characters",
        "changemechangemechangemechangeme",
        "your_secret_" + secrets.token_urlsafe(32),
        "short" + secrets.token_urlsafe(8),
    ],
    # Named, not shown: the random parts differ in each pytest-xdist worker, whose test ids must agree.
    ids=["pairs", "digits", "alphabet", "keyboard", "example", "changeme", "your_secret", "short"],
)
def test_a_low_entropy_chat_key_secret_is_refused_clearly(secret: str) -> None:
    (problem,) = problems(secret)
    assert "random" in problem and secret not in problem


RANDOM_SECRETS = [
    "Zq7xxxK" + secrets.token_urlsafe(32),
    "dtodoZ" + secrets.token_urlsafe(32),
    secrets.token_urlsafe(32) + "4changeQ",
    "x8Hq2changeRw9T" + secrets.token_hex(12) + "TODOp",
    secrets.token_hex(16),
    *(secrets.token_urlsafe(32) for _ in range(20)),
]


@pytest.mark.parametrize("secret", RANDOM_SECRETS, ids=[f"random-{i}" for i in range(len(RANDOM_SECRETS))])
def test_a_random_chat_key_secret_is_accepted_whatever_it_happens_to_contain(secret: str) -> None:
    assert problems(secret) == []
