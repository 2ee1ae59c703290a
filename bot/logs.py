"""Logging set-up: one format, LOG_LEVEL for our own loggers, and no update or response body, ever.

Libraries log what they were given: PTB's ``telegram.request`` writes a whole invalid-JSON reply
at ERROR (a truncating proxy, a self-hosted Bot API server), ``telegram.Bot`` writes the updates it
could not parse at CRITICAL, and at DEBUG every call's parameters and result. Any of those holds
chat ids, names and typed text. :class:`NoBodies` sits on every root handler, so whatever logger
a record comes from and whatever its level, a message that looks like it carries a body (JSON or a
Python repr of a dict, list or Telegram object, bytes, or simply a very long line) is replaced by
one line naming its logger and length; the exception's type is kept, its text only when clean.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
OWN_LOGGERS = ("bot", "flows", "storage")
# A body: JSON or a dict/list repr (`{"`, `[{'`), a Telegram object's repr (`Update(message=`), bytes
# (`b'`), or a JSON field that only bodies have.
_BODY = re.compile(
    r"""[{\[]\s*['"{\[]"""
    r"""|\b[A-Z][A-Za-z]+\([a-z_]+="""
    r"""|\bb['"]"""
    r"""|['"](?:update_id|message_id|first_name|last_name|username|text|chat|from)['"]\s*:"""
)
MAX_MESSAGE = 500  # characters: no line of ours is this long; a body often is


def looks_like_body(text: str) -> bool:
    return len(text) > MAX_MESSAGE or _BODY.search(text) is not None


def _exception_texts(exc: BaseException | None) -> list[str]:
    """The messages of an exception and everything chained to it."""
    out: list[str] = []
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        out.append(str(exc))
        exc = exc.__cause__ or exc.__context__
    return out


class NoBodies(logging.Filter):
    """Withhold any record that may carry an update or a Bot API response (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a record that cannot be formatted is withheld too
            message = "x" * (MAX_MESSAGE + 1)
        exc = record.exc_info[1] if record.exc_info else None
        dirty_exc = any(looks_like_body(t) for t in _exception_texts(exc))
        if looks_like_body(message) or dirty_exc:
            note = f" ({type(exc).__name__})" if exc is not None else ""
            record.msg = (
                f"log message withheld: it may hold an update or a response body "
                f"({len(message)} characters){note}"
            )
            record.args = None
            record.stack_info = None
            if dirty_exc:
                record.exc_info = None
                record.exc_text = None
        return True


def install_filter(logger: logging.Logger | None = None) -> None:
    """Put :class:`NoBodies` on every handler of ``logger`` (the root logger by default), once."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, NoBodies) for f in handler.filters):
            handler.addFilter(NoBodies())


# Fields a record may carry (``extra=``) that the JSON format passes on: codes and numbers only.
EXTRA_FIELDS = ("update_kind", "level_reached", "latency_ms")


class JsonFormatter(logging.Formatter):
    """LOG_FORMAT=json: one JSON object per line, for a log collector.

    time (UTC, ISO 8601), level, logger, message, and the codes in :data:`EXTRA_FIELDS` when a
    record has them. An exception is named by its type only. The body filter runs before this,
    so the message is already clean; nothing else from the record is copied.
    """

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in EXTRA_FIELDS:
            value = getattr(record, name, None)
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                out[name] = value
        if record.exc_info and record.exc_info[0] is not None:
            out["exception"] = record.exc_info[0].__name__
        return json.dumps(out, ensure_ascii=False)


def configure(level: str, fmt: str = "text") -> None:
    """Start-up: the root handler (text or JSON lines), LOG_LEVEL for our loggers, and the body
    filter on every handler."""
    logging.basicConfig(format=FORMAT, level=logging.WARNING)
    if fmt == "json":
        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonFormatter())
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(level)
    install_filter()
