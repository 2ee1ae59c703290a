"""The web page's session: one random id in one cookie (``HttpOnly``, ``SameSite=Strict``,
``Secure`` over https, ``Max-Age`` the session TTL), the store key derived from it by HMAC, and
the CSRF token every form carries, bound to the session (or, before the first check, a signed
nonce). :meth:`Sessions.form` refuses any posted form that is not exactly one of ours.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from bot.service import web_key
from bot.web.security import MAX_BODY, BadRequest

COOKIE = "cse_session"
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

    @staticmethod
    def read(request: Request) -> Session:
        sid = request.cookies.get(COOKIE)
        return Session(sid if sid and SESSION_ID.match(sid) else None)

    def set_cookie(self, response: Response, request: Request, sid: str) -> None:
        response.set_cookie(
            COOKIE,
            sid,
            max_age=self.max_age,
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
