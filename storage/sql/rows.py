"""What a row may hold: codes only, each within its column's length.

Every record and count is checked here before it is written, whatever the caller checked itself:
free text typed by a practitioner can never reach the database, and a refusal's message names the
field, never the value.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from storage.base import Record
from storage.tables import CHECK_ID_LENGTH, CODE_LENGTH, CONTENT_VERSION_LENGTH, STATE_LENGTH

_CODE = re.compile(r"[a-z0-9_]{1,32}")


def codes_only(value: Any) -> bool:
    """True when every key and text in ``value`` is a short lower-case code (never free text):
    the cheap privacy check on everything written, whatever the caller's own validation."""
    if value is None or isinstance(value, bool | int):
        return True
    if isinstance(value, str):
        return _CODE.fullmatch(value) is not None
    if isinstance(value, list):
        return all(codes_only(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _CODE.fullmatch(k) and codes_only(v) for k, v in value.items())
    return False


def short(field: str, value: str, limit: int) -> str:
    """``value``, refused unless it is a text of at most ``limit`` characters."""
    if not isinstance(value, str) or len(value) > limit:
        raise ValueError(f"record refused: {field} must be a code of at most {limit} characters")
    return value


def row_values(record: Record, now: dt.datetime, ttl: dt.timedelta) -> dict[str, Any]:
    """The columns for ``record`` written at ``now`` (it expires ``ttl`` later), after checking
    that it holds codes only."""
    data = record.data
    if not codes_only(data):
        raise ValueError("record refused: data holds something other than codes")
    state = data.get("state") if isinstance(data, dict) else None
    if not state:
        raise ValueError("record refused: data has no state code")
    return {
        "check_id": short("check id", record.check_id, CHECK_ID_LENGTH),
        "version": int(record.version),
        "state": short("state", state, STATE_LENGTH),
        "data": data,
        "anchor_message_id": record.anchor_message_id,
        "content_version": short("content version", record.content_version, CONTENT_VERSION_LENGTH),
        "service": short("service", record.service, CODE_LENGTH),
        "updated_at": now,
        "expires_at": now + ttl,
    }
