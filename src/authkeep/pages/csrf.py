"""CSRF protection for the hosted forms: a random cookie, and in each form an HMAC of that
cookie and the authorization request, compared in constant time (OWASP CSRF cheat sheet,
"signed double-submit cookie")."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

COOKIE = "authkeep-csrf"


def browser_secret(request: Request) -> tuple[str, bool]:
    """The browser's CSRF cookie value, and whether it is new (to be set on the response)."""
    value = request.cookies.get(COOKIE)
    if value and 20 <= len(value) <= 100:
        return value, False
    return secrets.token_urlsafe(32), True


def token_for(key: bytes, cookie_value: str, purpose: str) -> str:
    return hmac.new(key, f"{cookie_value}:{purpose}".encode(), hashlib.sha256).hexdigest()


def is_valid(key: bytes, request: Request, purpose: str, submitted: str | None) -> bool:
    cookie_value = request.cookies.get(COOKIE)
    if not cookie_value or not submitted:
        return False
    return hmac.compare_digest(token_for(key, cookie_value, purpose), submitted)


def set_cookie(request: Request, response: Response, value: str) -> None:
    response.set_cookie(
        COOKIE,
        value,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
