"""What the session core hands back: the signed-in session, cookies to set, redirects.

The session cookie holds, iron-sealed, what authkit-nextjs keeps in `wos-session` (CONTRACT.md
§5.4, §9.1): `{"accessToken", "refreshToken", "user", "impersonator"?, "authenticationMethod"?}`
with the user's top-level keys in camelCase, so a Next.js app and a Python app that share
`WORKOS_COOKIE_PASSWORD` and a domain read each other's cookies. Cookies written with snake_case
keys are read too. Here the user is a dict with the API's snake_case names (`first_name`, ...).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from authkeep.integrations.verifier import AccessTokenClaims

__all__ = [
    "AuthSession",
    "CallbackResult",
    "Cookie",
    "SessionResult",
    "SignInRedirect",
    "SignOutRedirect",
    "safe_return_to",
]

_CAMEL_HUMP = re.compile(r"_([a-z0-9])")
_SNAKE_HUMP = re.compile(r"(?<=[a-z0-9])([A-Z])")


@dataclass(frozen=True, slots=True)
class Cookie:
    """One `Set-Cookie`; `header()` is its value. A `max_age` of 0 deletes the cookie."""

    name: str
    value: str
    max_age: int | None
    path: str = "/"
    domain: str | None = None
    secure: bool = True
    http_only: bool = True
    same_site: str = "lax"

    def header(self) -> str:
        """`wos-session=Fe26.2*...; Path=/; Max-Age=34560000; HttpOnly; Secure; SameSite=Lax`"""
        parts = [f"{self.name}={self.value}", f"Path={self.path}"]
        if self.max_age is not None:
            parts.append(f"Max-Age={self.max_age}")
            if self.max_age == 0:
                parts.append("Expires=Thu, 01 Jan 1970 00:00:00 GMT")
        if self.domain:
            parts.append(f"Domain={self.domain}")
        if self.http_only:
            parts.append("HttpOnly")
        if self.secure:
            parts.append("Secure")
        parts.append(f"SameSite={self.same_site.capitalize()}")
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class SessionData:
    """The sealed contents of a session cookie, before the access token is checked."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    user: Mapping[str, Any]
    impersonator: Mapping[str, Any] | None = None
    authentication_method: str | None = None

    def to_cookie_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "accessToken": self.access_token,
            "refreshToken": self.refresh_token,
            "user": {_camel(key): value for key, value in self.user.items()},
        }
        if self.impersonator is not None:
            payload["impersonator"] = dict(self.impersonator)
        if self.authentication_method is not None:
            payload["authenticationMethod"] = self.authentication_method
        return payload

    def unverified_claim(self, name: str) -> str | None:
        """A string claim of the access token, unchecked: the seal vouches for the cookie, so an
        expired token still names its session at sign-out."""
        try:
            payload = self.access_token.split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (IndexError, ValueError):
            return None
        value = claims.get(name) if isinstance(claims, dict) else None
        return value if isinstance(value, str) else None

    @classmethod
    def from_cookie_payload(cls, payload: Any) -> SessionData | None:
        """None unless the payload has string tokens and a user with a string `id`."""
        if not isinstance(payload, dict):
            return None
        access = payload.get("accessToken", payload.get("access_token"))
        refresh = payload.get("refreshToken", payload.get("refresh_token"))
        user = payload.get("user")
        if not (isinstance(access, str) and isinstance(refresh, str) and isinstance(user, dict)):
            return None
        user = {_snake(key): value for key, value in user.items()}
        if not isinstance(user.get("id"), str):
            return None
        impersonator = payload.get("impersonator")
        method = payload.get("authenticationMethod", payload.get("authentication_method"))
        return cls(
            access,
            refresh,
            user,
            impersonator if isinstance(impersonator, dict) else None,
            method if isinstance(method, str) else None,
        )


@dataclass(frozen=True, slots=True)
class AuthSession:
    """A signed-in person: the verified access token's claims and the user the server returned.

    >>> session.user_id, session.organization_id, session.role, session.user["email"]
    ('user_01H...', 'org_01H...', 'admin', 'ada@example.com')
    """

    user: Mapping[str, Any]
    claims: AccessTokenClaims
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    impersonator: Mapping[str, Any] | None = None
    authentication_method: str | None = None

    @property
    def user_id(self) -> str:
        return self.claims.user_id

    @property
    def session_id(self) -> str:
        return self.claims.session_id

    @property
    def organization_id(self) -> str | None:
        return self.claims.organization_id

    @property
    def role(self) -> str | None:
        return self.claims.role

    @property
    def roles(self) -> tuple[str, ...]:
        return self.claims.roles

    @property
    def permissions(self) -> tuple[str, ...]:
        return self.claims.permissions


@dataclass(frozen=True, slots=True)
class SignInRedirect:
    """Send the browser to `url` after setting `cookies` (the PKCE verifier cookie)."""

    url: str
    cookies: tuple[Cookie, ...]


@dataclass(frozen=True, slots=True)
class CallbackResult:
    """A finished sign-in: set `cookies` (session set, verifier cleared), go to `redirect_to`."""

    session: AuthSession
    redirect_to: str
    cookies: tuple[Cookie, ...]


@dataclass(frozen=True, slots=True)
class SessionResult:
    """The session of a request, or None, with the cookies to set on its response.

    `refreshed` says the access token was renewed (the session cookie is rewritten). `reason`
    says why there is no session, or why an old one is kept: `no_session_cookie`,
    `invalid_session_cookie`, `user_mismatch`, `refresh_failed` (final: the cookie is cleared),
    `refresh_unavailable` (transient: the cookie is kept), `refresh_failed_kept` (the old token
    is still valid and serves this request).
    """

    session: AuthSession | None
    cookies: tuple[Cookie, ...] = ()
    refreshed: bool = False
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class SignOutRedirect:
    """Clear `cookies`, then send the browser to `url` (the server's logout URL)."""

    url: str
    cookies: tuple[Cookie, ...]


def safe_return_to(value: str | None) -> str:
    """`value` if it is a path on this site, else `/`: no scheme, no host, no `//` or `/\\`
    (which browsers read as another host), no control or non-ASCII characters.

    >>> safe_return_to("/reports?year=2024"), safe_return_to("//evil.example"), \
    ... safe_return_to("https://evil.example/")
    ('/reports?year=2024', '/', '/')
    """
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if any(not 0x21 <= ord(char) <= 0x7E for char in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


def _camel(key: str) -> str:
    return _CAMEL_HUMP.sub(lambda match: match.group(1).upper(), key)


def _snake(key: str) -> str:
    return _SNAKE_HUMP.sub(lambda match: "_" + match.group(1).lower(), key)
