"""Callback data the bot puts on its buttons, signed so that nothing else is accepted.

Format (at most 64 bytes, Telegram's limit): ``<check_id>.<version>.<action>.<mac>``. The mac is
a truncated HMAC-SHA256 over the chat's pseudonymous key and the payload, so data from another
chat, an edited client or a guess is refused. ``check_id`` is ``-`` on buttons outside a check
(lookups, start). The data carries codes only, never anything typed.
"""

from __future__ import annotations

import base64
import hmac
import re
from dataclasses import dataclass

MAX_BYTES = 64
_MAC_BYTES = 6
_PAYLOAD = re.compile(r"^([A-Za-z0-9_-]{1,12}|-)\.(\d{1,6})\.([a-z]{1,8}(?::[a-z0-9_]{1,24})?)$")


@dataclass(frozen=True)
class Pressed:
    """A verified button press."""

    check_id: str | None
    version: int
    action: str


def _mac(secret: bytes, key: str, payload: str) -> str:
    digest = hmac.digest(secret, f"{key}|{payload}".encode(), "sha256")[:_MAC_BYTES]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def encode(secret: bytes, key: str, action: str, check_id: str | None = None, version: int = 0) -> str:
    payload = f"{check_id or '-'}.{version}.{action}"
    data = f"{payload}.{_mac(secret, key, payload)}"
    if len(data.encode()) > MAX_BYTES or not _PAYLOAD.match(payload):
        raise ValueError("callback data out of bounds")
    return data


def decode(secret: bytes, key: str, data: str | None) -> Pressed | None:
    """The press, or None for anything the bot did not produce for this chat."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    payload, _, mac = data.rpartition(".")
    match = _PAYLOAD.match(payload)
    # Bytes, not str: compare_digest raises TypeError on a str with non-ASCII characters.
    if match is None or not hmac.compare_digest(mac.encode(), _mac(secret, key, payload).encode()):
        return None
    check_id, version, action = match.groups()
    return Pressed(None if check_id == "-" else check_id, int(version), action)
