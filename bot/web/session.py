"""The web page's session: one random id in one cookie, the store key derived from it by HMAC,
and the CSRF token every form carries, bound to the session (or, before the first check, a signed
nonce). :meth:`Sessions.form` refuses any posted form that is not exactly one of ours.

The cookie (issue 21 §5): ``HttpOnly``, ``SameSite=Strict``, ``Path=/``; over https it is
``__Host-cse_session`` with ``Secure`` (no other site or subdomain can set it), over plain http
(a development machine) ``cse_session``. It has no ``Max-Age``: it ends when the browser closes,
so on a shared workstation the next person cannot reopen the check (the stored answers expire
after SESSION_TTL_HOURS regardless). A new id is issued for every check started (signed: a value
we never issued is no session at all), and a check is stored only from its first answer, under
the id issued with it: a value planted in a browser never carries the next check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from bot.service import web_key
from bot.web.security import MAX_BODY, BadRequest
from flows.screens import Button, Screen

COOKIE = "cse_session"  # over plain http only
SECURE_COOKIE = "__Host-" + COOKIE  # over https
SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{43}$")


@dataclass
class Session:
    """The browser's session id (None before the first check) and whether it is new."""

    sid: str | None
    new: bool = False


class Sessions:
    """Session ids, store keys, form tokens and the cookie, under one secret."""

    def __init__(self, secret: bytes, max_age: int) -> None:
        self.secret = secret
        self.max_age = max_age

    def key(self, sid: str) -> str:
        return web_key(self.secret, sid)

    def _mac(self, domain: bytes, value: str) -> str:
        return hmac.new(self.secret, domain + value.encode(), hashlib.sha256).hexdigest()[:32]

    def csrf(self, session: Session) -> str:
        """The form token: bound to the session, or for a browser with none yet a signed nonce
        that lets it start its first check."""
        if session.sid is not None:
            return "s" + self._mac(b"csrf\0", session.sid)
        nonce = secrets.token_urlsafe(12)
        return "n" + nonce + "." + self._mac(b"csrf-new\0", nonce)

    def csrf_ok(self, session: Session, token: str, *, new_allowed: bool = False) -> bool:
        if session.sid is not None and not (new_allowed and token.startswith("n")):
            return hmac.compare_digest(token, "s" + self._mac(b"csrf\0", session.sid))
        nonce, _, mac = token[1:].partition(".")
        return (
            token.startswith("n")
            and bool(nonce)
            and hmac.compare_digest(mac, self._mac(b"csrf-new\0", nonce))
        )

    def check_id(self, sid: str) -> str:
        """The check id of the first question shown to this session before anything is stored."""
        return base64.urlsafe_b64encode(bytes.fromhex(self._mac(b"check\0", sid)))[:8].decode()

    def new_id(self) -> str:
        """A new session id: 24 random bytes and a signature, so a value we never issued (however
        well-formed) is never taken for a session."""
        nonce = secrets.token_urlsafe(24)
        return nonce + self._signature(nonce)

    def _signature(self, nonce: str) -> str:
        mac = hmac.new(self.secret, b"sid\0" + nonce.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:9]).decode()[:11]

    def read(self, request: Request) -> Session:
        """The session in the cookie, if it is one we issued (else none)."""
        sid = request.cookies.get(_name(request))
        if not sid or not SESSION_ID.match(sid):
            return Session(None)
        return Session(sid if hmac.compare_digest(sid[32:], self._signature(sid[:32])) else None)

    def set_cookie(self, response: Response, request: Request, sid: str) -> None:
        """The session cookie; it ends with the browser session (no Max-Age, see above)."""
        response.set_cookie(
            _name(request),
            sid,
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )

    async def form(
        self,
        request: Request,
        fields: set[str],
        *,
        new_allowed: bool = False,
        repeated: str = "",
        most: int = 0,
    ) -> tuple[Session, FormData]:
        """The posted form, refused unless it is exactly one of ours (fields, size, origin, token).
        ``new_allowed``: a start button drawn before this browser had a session (another tab)
        still works. ``repeated``: a field that may come up to ``most`` times (a step's ticks)."""
        if request.query_params:
            raise BadRequest("query")
        # Cross-site posts are refused (besides SameSite=Strict and the form token). With
        # Referrer-Policy no-referrer, browsers send "Origin: null" on their own forms, so the
        # fetch metadata header decides where the browser sends one.
        site = request.headers.get("sec-fetch-site")
        origin = request.headers.get("origin")
        if site is not None and site != "same-origin":
            raise BadRequest("cross-site")
        if origin not in (None, "null") and urlsplit(origin).netloc != request.headers.get("host"):
            raise BadRequest("origin")
        if (
            request.headers.get("content-type", "").split(";")[0].strip()
            != "application/x-www-form-urlencoded"
        ):
            raise BadRequest("content type")
        body = await request.body()
        if len(body) > MAX_BODY:
            raise BadRequest("size")
        form = await request.form(max_files=0, max_fields=len(fields) + most + 1)
        singles = [k for k, _ in form.multi_items() if not repeated or k != repeated]
        if set(singles) != fields or len(singles) != len(fields) or len(form.getlist(repeated)) > most:
            raise BadRequest("fields")
        session = self.read(request)
        token = form.get("csrf")
        if not isinstance(token, str) or not self.csrf_ok(session, token, new_allowed=new_allowed):
            raise BadRequest("csrf")
        return session, form


def _name(request: Request) -> str:
    return SECURE_COOKIE if request.url.scheme == "https" else COOKIE


class Tickets:
    """ "Report a problem" counts once per outcome shown (issue 21 §3): each outcome page's button
    carries a single-use ticket, ``<code>.<minute>.<nonce>.<mac>``, signed, valid for a day. The
    nonce becomes a negative "update id" recorded in the store (where Telegram's ids are
    positive, and kept 48 h), so a second use of a ticket, in any worker, is a duplicate."""

    VALID_MINUTES = 24 * 60

    def __init__(self, secret: bytes) -> None:
        self.secret = secret

    def _mac(self, code: str, minute: str, nonce: str) -> str:
        msg = f"fb\0{code}.{minute}.{nonce}".encode()
        return hmac.new(self.secret, msg, hashlib.sha256).hexdigest()[:16]

    def issue(self, screen: Screen, sid: str | None) -> Screen:
        """The screen with a ticket on its "Report a problem" button, if it has one. A session
        holds one check (a new id for every start), so its outcome's nonce comes from the session
        id: the outcome shown again (a reload) carries the same one, still counted once."""
        if not any(b.action.startswith("fb:") for row in screen.buttons for b in row):
            return screen
        minute = str(int(time.time() // 60))
        nonce = secrets.token_urlsafe(9) if sid is None else self._nonce(sid)

        def ticketed(b: Button) -> Button:
            if not b.action.startswith("fb:"):
                return b
            code = b.action[3:]
            return replace(b, action=f"fb:{code}.{minute}.{nonce}.{self._mac(code, minute, nonce)}")

        return replace(screen, buttons=tuple(tuple(ticketed(b) for b in row) for row in screen.buttons))

    def _nonce(self, sid: str) -> str:
        mac = hmac.new(self.secret, b"fb-nonce\0" + sid.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:9]).decode()

    def valid(self, ticket: re.Match[str]) -> bool:
        code, minute, nonce, mac = ticket.group("code", "minute", "nonce", "mac")
        age = int(time.time() // 60) - int(minute)
        return 0 <= age <= self.VALID_MINUTES and hmac.compare_digest(mac, self._mac(code, minute, nonce))

    @staticmethod
    def once(ticket: re.Match[str]) -> int:
        """The ticket's nonce as a negative 63-bit id (never a Telegram update id)."""
        digest = hashlib.sha256(b"fb\0" + ticket.group("nonce").encode()).digest()
        return -1 - (int.from_bytes(digest[:8], "big") >> 1)
