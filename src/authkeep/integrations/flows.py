"""The decisions between the session core's I/O steps, shared by `AuthKit` (threads,
authkeep.integrations.sync_client) and `AsyncAuthKit` (asyncio, authkeep.integrations.async_client).

    authkit = AsyncAuthKit()                    # AuthKitConfig.from_env(): WORKOS_* variables
    redirect = authkit.sign_in(return_to="/reports")          # no I/O: URL + verifier cookie
    result = await authkit.handle_callback(query, cookies)    # code exchange, session cookie
    state = await authkit.load_session(cookies)               # verify; refresh when due
    state.session.user_id, state.cookies                      # cookies to set on the response

Refresh: when the access token is expired, refused, or within the refresh margin of expiry, the
refresh token is exchanged, once per session in the process however many requests need it at the
same moment (authkeep.integrations.singleflight). A final refusal (`invalid_grant`, ...) clears
the session cookie; a transient one (network, 408, 429, 5xx) keeps it and answers signed out;
either way a still-valid old token keeps serving until it expires. `JwksUnavailable` (the keys
cannot be fetched) propagates: answer 503.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from authkeep.integrations.bearer import (
    ApiKey,
    api_key_from_validation,
)
from authkeep.integrations.client import AuthKitCore
from authkeep.integrations.config import AuthKitConfig
from authkeep.integrations.errors import (
    AuthenticationFailed,
    AuthenticationRequired,
    CallbackError,
    ConfigurationError,
    TokenInvalid,
)
from authkeep.integrations.session import AuthSession, CallbackResult, SessionData, SessionResult
from authkeep.integrations.singleflight import SingleFlight
from authkeep.integrations.verifier import AccessTokenClaims

__all__ = ["Principal"]

Principal = AuthSession | AccessTokenClaims | ApiKey
"""Who a request acts for: a browser session, a bearer access token, or an API key."""

AUTHENTICATE = "/user_management/authenticate"
VALIDATE_API_KEY = "/api_keys/validations"


class SessionFlows(AuthKitCore):
    """The decisions between the I/O steps, shared by both flavours."""

    def __init__(
        self,
        config: AuthKitConfig | None,
        clock: Callable[[], float],
        api_key_prefixes: tuple[str, ...],
        overrides: dict[str, Any],
    ) -> None:
        if config is None:
            config = AuthKitConfig.from_env(**overrides)
        elif overrides:
            config = dataclasses.replace(config, **overrides)
        super().__init__(config, clock=clock)
        self.api_key_prefixes = api_key_prefixes
        self._flight: SingleFlight[dict[str, Any]] = SingleFlight(config.refresh_reuse_seconds)

    def refresh_body(self, refresh_token: str, organization_id: str | None) -> dict[str, str]:
        body = {
            "grant_type": "refresh_token",
            "client_id": self.config.client_id,
            "refresh_token": refresh_token,
        }
        if self.config.api_key:
            body["client_secret"] = self.config.api_key
        if organization_id:
            body["organization_id"] = organization_id
        return body

    def needs_refresh(self, claims: AccessTokenClaims) -> bool:
        """Whether the token is within the refresh margin of its expiry (authkit-nextjs: 30 s
        for tokens of 5 minutes or less, else 60 s; here also never more than a tenth of its
        lifetime, so very short-lived tokens are not refreshed on every request)."""
        exp, iat = claims.raw["exp"], claims.raw["iat"]
        margin = self.config.refresh_margin
        if margin is None:
            lifetime = max(exp - iat, 0)
            margin = min(30.0 if lifetime <= 300 else 60.0, lifetime / 10)
        return bool(exp - self._clock() <= margin)

    @staticmethod
    def authentication_result(status: int, body: Any) -> dict[str, Any]:
        """The JSON of a successful `POST /user_management/authenticate`, else
        `AuthenticationFailed` with the server's error code and message."""
        if status == 200 and isinstance(body, dict):
            if (
                isinstance(body.get("access_token"), str)
                and isinstance(body.get("refresh_token"), str)
                and isinstance(body.get("user"), dict)
                and isinstance(body["user"].get("id"), str)
            ):
                return body
            raise AuthenticationFailed(status, "invalid_response", "no tokens or user", body)
        fields = body if isinstance(body, dict) else {}
        error = fields.get("error") or fields.get("code") or f"http_{status}"
        message = fields.get("error_description") or fields.get("message") or ""
        raise AuthenticationFailed(status, str(error), str(message), body)

    def _begin(self, cookies: Mapping[str, str]) -> SessionData | SessionResult:
        data, reason = self.read_session_cookie(cookies)
        if data is not None:
            return data
        cleared = (self.clear_session_cookie(),) if reason == "invalid_session_cookie" else ()
        return SessionResult(None, cleared, reason=reason)

    def _settle(self, data: SessionData, claims: AccessTokenClaims | None) -> SessionResult | None:
        """The result when no refresh is needed, else None."""
        if claims is None:
            return None
        if claims.user_id != data.user["id"]:  # authkit-nextjs refuses these too
            return SessionResult(None, (self.clear_session_cookie(),), reason="user_mismatch")
        return None if self.needs_refresh(claims) else SessionResult(self.session(data, claims))

    def _refreshed(self, new: SessionData, claims: AccessTokenClaims) -> SessionResult:
        if claims.user_id != new.user["id"]:
            return SessionResult(None, (self.clear_session_cookie(),), reason="user_mismatch")
        return SessionResult(self.session(new, claims), (self.session_cookie(new),), True)

    def _refresh_failed(
        self, data: SessionData, claims: AccessTokenClaims | None, failure: AuthenticationFailed
    ) -> SessionResult:
        if claims is not None and claims.user_id == data.user["id"]:
            return SessionResult(self.session(data, claims), reason="refresh_failed_kept")
        if failure.is_transient:
            return SessionResult(None, reason="refresh_unavailable")
        return SessionResult(None, (self.clear_session_cookie(),), reason="refresh_failed")

    def _callback_result(
        self, state: str, data: SessionData, claims: AccessTokenClaims, return_to: str
    ) -> CallbackResult:
        if claims.user_id != data.user["id"]:
            raise CallbackError("user_mismatch", "the access token is not the returned user's")
        cookies = (self.session_cookie(data), self.clear_verifier_cookie(state))
        return CallbackResult(self.session(data, claims), return_to, cookies)

    def _refused_new_token(self, error: TokenInvalid) -> AuthenticationFailed:
        return AuthenticationFailed(200, error.code, f"the refreshed access token: {error}")

    def _refresh_key(self, refresh_token: str, organization_id: str | None) -> str:
        return f"{refresh_token}\0{organization_id or ''}"

    def _api_key_request(self, value: str) -> tuple[str, dict[str, str], dict[str, str]]:
        if not self.config.api_key:
            raise ConfigurationError("validating API keys with the server needs WORKOS_API_KEY")
        headers = {"Authorization": f"Bearer {self.config.api_key}"}
        return self.config.base_url + VALIDATE_API_KEY, headers, {"value": value}

    def _api_key_answer(self, status: int, body: Any) -> ApiKey | None:
        if status == 404:
            raise AuthenticationRequired(
                "api_keys_unsupported",
                f"{self.config.base_url} cannot validate API keys "
                f"(POST {VALIDATE_API_KEY} answered 404)",
            )
        if status != 200:
            raise AuthenticationFailed(status, "api_key_validation_failed", f"HTTP {status}", body)
        return api_key_from_validation(body)

    def _refuse_api_keys(self, value: str) -> ApiKey | None:
        raise AuthenticationRequired(
            "api_keys_not_accepted", "this API accepts access tokens, not API keys"
        )


def answer(response: httpx.Response) -> tuple[int, Any]:
    """Status and JSON (None when the body is not JSON) of a server response."""
    try:
        return response.status_code, response.json()
    except ValueError:
        return response.status_code, None


def network_failure(error: httpx.HTTPError) -> AuthenticationFailed:
    return AuthenticationFailed(0, "network_error", f"{type(error).__name__}: {error}")
