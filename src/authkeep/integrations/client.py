"""The session core without I/O: URLs, request bodies, cookies and the decisions between them.

`AuthKit` and `AsyncAuthKit` (authkeep.integrations.sync_client, .async_client) add the HTTP
calls and refresh (authkeep.integrations.flows); framework integrations add the requests and
responses. What happens, as in authkit-nextjs
(CONTRACT.md §9):

* Sign-in: `GET {base}/user_management/authorize` with `provider=authkit`, PKCE S256, and a
  `state` sealed with the cookie password (ttl 10 minutes) that carries a nonce and the path to
  return to. The PKCE verifier stays in the browser, in a sealed cookie named
  `wos-auth-verifier-<8 hex of the state>`, HttpOnly, scoped to the callback path; it never
  appears in a URL (authkit-nextjs puts it in `state`). Several sign-ins may run at once; given
  the request's cookies, `sign_in` clears all but the newest few so they cannot pile up into a
  request header the server refuses.
* Callback: the state must open with the cookie password and its nonce must equal the verifier
  cookie's (compared in constant time), else `CallbackError`. The return path is checked again
  (`safe_return_to`) before it is used.
* Session cookie: see authkeep.integrations.session. One cookie, never split: a sealed session
  over 4096 bytes raises `CookieTooLarge` rather than being dropped by the browser.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

from authkeep.integrations.config import AuthKitConfig
from authkeep.integrations.errors import CallbackError, CookieTooLarge
from authkeep.integrations.sealing import SealExpired, SealInvalid, seal_data, unseal_data
from authkeep.integrations.session import (
    AuthSession,
    Cookie,
    SessionData,
    SignInRedirect,
    SignOutRedirect,
    safe_return_to,
)
from authkeep.integrations.verifier import AccessTokenClaims

__all__ = ["COOKIE_SIZE_LIMIT", "VERIFIER_COOKIE_PREFIX", "AuthKitCore"]

COOKIE_SIZE_LIMIT = 4096  # name + value, what Chrome, Firefox and Safari keep (RFC 6265 §6.1)
VERIFIER_COOKIE_PREFIX = "wos-auth-verifier-"
STATE_TTL = 600
MAX_PENDING_SIGN_INS = 5  # verifier cookies kept per browser, as authkit-nextjs


class AuthKitCore:
    """Configuration plus every step that needs no network; the base of `AuthKit`."""

    def __init__(self, config: AuthKitConfig, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._clock = clock

    # Sign-in ------------------------------------------------------------------------------------

    def sign_in(
        self,
        *,
        return_to: str | None = None,
        screen_hint: str | None = None,
        organization_id: str | None = None,
        login_hint: str | None = None,
        prompt: str | None = None,
        max_age: int | None = None,
        cookies: Mapping[str, str] | None = None,
    ) -> SignInRedirect:
        """The authorize URL and the cookies to set before redirecting to it: the new verifier
        cookie, and deletions of the oldest pending ones found in `cookies` (the request's).

        `return_to` must be a path on this site (anything else becomes `/`); `screen_hint` is
        `sign-in` or `sign-up`; the rest are passed to the server as named.

        >>> redirect = authkit.sign_in(return_to="/reports")
        >>> redirect.url
        'https://auth.example.com/user_management/authorize?client_id=client_01H...&...'
        """
        password = self.config.cookie_password
        verifier = secrets.token_urlsafe(48)
        nonce = secrets.token_urlsafe(16)
        state = seal_data(
            {"nonce": nonce, "returnPathname": safe_return_to(return_to)}, password, ttl=STATE_TTL
        )
        sealed_verifier = seal_data(
            {"nonce": nonce, "codeVerifier": verifier}, password, ttl=STATE_TTL
        )
        query: dict[str, str] = {
            "client_id": self.config.client_id,
            "redirect_uri": self.config.redirect_uri,
            "response_type": "code",
            "provider": "authkit",
            "state": state,
            "code_challenge": _b64url(hashlib.sha256(verifier.encode()).digest()),
            "code_challenge_method": "S256",
        }
        optional = {
            "screen_hint": screen_hint,
            "organization_id": organization_id,
            "login_hint": login_hint,
            "prompt": prompt,
            "max_age": None if max_age is None else str(max_age),
        }
        query.update({key: value for key, value in optional.items() if value is not None})
        url = f"{self.config.base_url}/user_management/authorize?{urlencode(query)}"
        cookie = self._cookie(self.verifier_cookie_name(state), sealed_verifier, STATE_TTL)
        return SignInRedirect(url, (cookie, *self._stale_verifiers(cookies or {})))

    def _stale_verifiers(self, cookies: Mapping[str, str]) -> list[Cookie]:
        """Deletions for all but the newest `MAX_PENDING_SIGN_INS - 1` verifier cookies; their
        age is the seal's expiration field, readable without opening it."""
        pending = sorted(
            (
                (_seal_expiration(value), name)
                for name, value in cookies.items()
                if name.startswith(VERIFIER_COOKIE_PREFIX)
            ),
            reverse=True,
        )
        return [self._cookie(name, "", 0) for _, name in pending[MAX_PENDING_SIGN_INS - 1 :]]

    def verifier_cookie_name(self, state: str) -> str:
        return VERIFIER_COOKIE_PREFIX + hashlib.sha256(state.encode()).hexdigest()[:8]

    def code_exchange(
        self, query: Mapping[str, str], cookies: Mapping[str, str]
    ) -> tuple[dict[str, str], str]:
        """Check a callback's query against the browser's cookies: the body of the
        `authorization_code` request and the path to return to. Raises `CallbackError`."""
        if query.get("error"):
            detail = query.get("error_description") or ""
            raise CallbackError(
                "authorization_error",
                f"the server sent back {query['error']}" + (f": {detail}" if detail else ""),
            )
        code, state = query.get("code"), query.get("state")
        if not code or not state:
            raise CallbackError("missing_code", "the callback needs both code and state")
        password = self.config.cookie_password
        try:
            opened = unseal_data(state, password, ttl=STATE_TTL)
        except SealExpired:
            raise CallbackError("state_expired", "the sign-in took over 10 minutes") from None
        except SealInvalid:
            raise CallbackError(
                "invalid_state", "the state was altered or was not issued by this app"
            ) from None
        sealed = cookies.get(self.verifier_cookie_name(state))
        try:
            kept = unseal_data(sealed, password, ttl=STATE_TTL) if sealed else None
        except SealInvalid:
            kept = None
        nonce = opened.get("nonce") if isinstance(opened, dict) else None
        kept_nonce = kept.get("nonce") if isinstance(kept, dict) else None
        verifier = kept.get("codeVerifier") if isinstance(kept, dict) else None
        if not (
            isinstance(nonce, str)
            and isinstance(kept_nonce, str)
            and isinstance(verifier, str)
            and hmac.compare_digest(nonce.encode(), kept_nonce.encode())
        ):
            raise CallbackError(
                "state_mismatch",
                "this sign-in was not started in this browser, or its verifier cookie expired",
            )
        body = {
            "grant_type": "authorization_code",
            "client_id": self.config.client_id,
            "code": code,
            "code_verifier": verifier,
        }
        if self.config.api_key:
            body["client_secret"] = self.config.api_key
        assert isinstance(opened, dict)
        return body, safe_return_to(opened.get("returnPathname"))

    def clear_verifier_cookie(self, state: str) -> Cookie:
        return self._cookie(self.verifier_cookie_name(state), "", 0)

    # Cookies ------------------------------------------------------------------------------------

    def read_session_cookie(self, cookies: Mapping[str, str]) -> tuple[SessionData | None, str]:
        """The sealed session and `ok`, or None and `no_session_cookie` / `invalid_session_cookie`
        (altered, sealed with an unknown password, or not a session)."""
        sealed = cookies.get(self.config.cookie_name)
        if not sealed:
            return None, "no_session_cookie"
        try:
            data = SessionData.from_cookie_payload(unseal_data(sealed, self.config.cookie_password))
        except SealInvalid:
            data = None
        return (data, "ok") if data is not None else (None, "invalid_session_cookie")

    def session_data(
        self, response: Mapping[str, Any], previous: SessionData | None = None
    ) -> SessionData:
        """The cookie contents for an authenticate response (method kept across refreshes)."""
        method = response.get("authentication_method")
        if not isinstance(method, str):
            method = previous.authentication_method if previous else None
        impersonator = response.get("impersonator")
        return SessionData(
            response["access_token"],
            response["refresh_token"],
            response["user"],
            impersonator if isinstance(impersonator, dict) else None,
            method,
        )

    def session_cookie(self, data: SessionData) -> Cookie:
        """The sealed session cookie; `CookieTooLarge` if browsers would not keep it."""
        sealed = seal_data(data.to_cookie_payload(), self.config.cookie_password)
        return self._cookie(self.config.cookie_name, sealed, self.config.cookie_max_age)

    def clear_session_cookie(self) -> Cookie:
        return self._cookie(self.config.cookie_name, "", 0)

    def session(self, data: SessionData, claims: AccessTokenClaims) -> AuthSession:
        return AuthSession(
            data.user,
            claims,
            data.access_token,
            data.refresh_token,
            data.impersonator,
            data.authentication_method,
        )

    # Sign-out -----------------------------------------------------------------------------------

    def sign_out(self, cookies: Mapping[str, str], return_to: str | None = None) -> SignOutRedirect:
        """Clear the session and any verifier cookies, and go to the server's logout URL, which
        ends the session and then redirects to `return_to` if the server allows it. Without a
        session, go straight to `return_to` (or `/`).

        >>> authkit.sign_out(request.cookies, return_to="https://app.example.com/").url
        'https://auth.example.com/user_management/sessions/logout?session_id=session_01H...&...'
        """
        cleared = [self.clear_session_cookie()] + [
            self._cookie(name, "", 0)
            for name in cookies
            if name.startswith(VERIFIER_COOKIE_PREFIX) and name != self.config.cookie_name
        ]
        data, _ = self.read_session_cookie(cookies)
        session_id = data.unverified_claim("sid") if data else None
        if not session_id:
            return SignOutRedirect(return_to or "/", tuple(cleared))
        query = {"session_id": session_id}
        if return_to:
            query["return_to"] = return_to
        url = f"{self.config.base_url}/user_management/sessions/logout?{urlencode(query)}"
        return SignOutRedirect(url, tuple(cleared))

    def absolute_url(self, path: str) -> str:
        """A path of this app as an absolute URL (the server needs one for `return_to`)."""
        return self.config.app_origin + safe_return_to(path)

    # Helpers ------------------------------------------------------------------------------------

    def _cookie(self, name: str, value: str, max_age: int) -> Cookie:
        config = self.config
        size = len(name.encode()) + len(value.encode())
        if size > COOKIE_SIZE_LIMIT:
            raise CookieTooLarge(name, size, COOKIE_SIZE_LIMIT)
        verifier = name.startswith(VERIFIER_COOKIE_PREFIX)
        return Cookie(
            name=name,
            value=value,
            max_age=max_age,
            # The verifier is only needed at the callback; strict would hide it from the
            # cross-site redirect that brings the browser back, so it is always lax.
            path=(urlsplit(config.redirect_uri).path or "/") if verifier else "/",
            domain=None if verifier else config.cookie_domain,
            secure=config.is_secure,
            same_site="lax"
            if verifier and config.cookie_same_site == "strict"
            else config.cookie_same_site,
        )


def _seal_expiration(seal: str) -> int:
    parts = seal.split("*")
    return int(parts[5]) if len(parts) == 8 and parts[5].isdigit() else 0


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
