"""`AuthKit`: the session core for synchronous apps (Flask, Django, worker threads)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from authkeep.integrations.bearer import (
    DEFAULT_API_KEY_PREFIXES,
    ApiKey,
    ApiKeyValidator,
    bearer_credential,
    has_api_key_prefix,
    token_refused,
)
from authkeep.integrations.config import AuthKitConfig
from authkeep.integrations.errors import (
    AuthenticationFailed,
    AuthenticationRequired,
    CallbackError,
    TokenInvalid,
)
from authkeep.integrations.flows import AUTHENTICATE, SessionFlows, answer, network_failure
from authkeep.integrations.session import CallbackResult, SessionResult
from authkeep.integrations.verifier import AccessTokenClaims, TokenVerifier

__all__ = ["AuthKit"]


class AuthKit(SessionFlows):
    """Sign-in, sessions and bearer checks from threads; share one per process.

    `config` defaults to `AuthKitConfig.from_env()`; keyword `overrides` replace single settings
    (`base_url=...`, `cookie_name=...`). `http_client` is an optional `httpx.Client` (proxies,
    custom CAs, pooling). `api_key_validator` is False (API keys refused), True (ask the server)
    or a callable returning an `ApiKey` or None. `clock` returns Unix seconds.

    >>> authkit = AuthKit(base_url="http://127.0.0.1:8720")
    >>> result = authkit.load_session(request.cookies)
    >>> result.session.user["email"] if result.session else None
    'ada@example.com'
    """

    def __init__(
        self,
        config: AuthKitConfig | None = None,
        *,
        http_client: httpx.Client | None = None,
        verifier: TokenVerifier | None = None,
        api_key_validator: ApiKeyValidator | bool = False,
        api_key_prefixes: tuple[str, ...] = DEFAULT_API_KEY_PREFIXES,
        clock: Callable[[], float] = time.time,
        **overrides: Any,
    ) -> None:
        super().__init__(config, clock, api_key_prefixes, overrides)
        self.http_client = http_client
        self.verifier = verifier or TokenVerifier(
            base_url=self.config.base_url,
            client_id=self.config.client_id,
            http_client=http_client,
            timeout=self.config.timeout,
            clock=clock,
        )
        if api_key_validator is True:
            api_key_validator = self.validate_api_key
        self.api_key_validator: ApiKeyValidator = api_key_validator or self._refuse_api_keys

    def handle_callback(
        self, query: Mapping[str, str], cookies: Mapping[str, str]
    ) -> CallbackResult:
        """Finish a sign-in at the redirect URI. Raises `CallbackError` for a bad callback,
        `AuthenticationFailed` when the server refuses the code, `CookieTooLarge` when the
        session would not fit in a cookie.

        >>> result = authkit.handle_callback(request.args, request.cookies)
        >>> result.redirect_to, [cookie.name for cookie in result.cookies]
        ('/reports', ['wos-session', 'wos-auth-verifier-1a2b3c4d'])
        """
        body, return_to = self.code_exchange(query, cookies)
        data = self.session_data(self.authentication_result(*self._post(AUTHENTICATE, body)))
        try:
            claims = self.verifier.verify(data.access_token)
        except TokenInvalid as error:
            raise CallbackError("invalid_token", f"the new access token: {error}") from error
        return self._callback_result(query["state"], data, claims, return_to)

    def load_session(self, cookies: Mapping[str, str]) -> SessionResult:
        """The request's session, refreshed when due; set `result.cookies` on the response."""
        data = self._begin(cookies)
        if isinstance(data, SessionResult):
            return data
        try:
            claims: AccessTokenClaims | None = self.verifier.verify(data.access_token)
        except TokenInvalid:
            claims = None
        settled = self._settle(data, claims)
        if settled is not None:
            return settled
        try:
            new = self.session_data(self._refresh(data.refresh_token, None), data)
            new_claims = self.verifier.verify(new.access_token)
        except AuthenticationFailed as failure:
            return self._refresh_failed(data, claims, failure)
        except TokenInvalid as error:
            return self._refresh_failed(data, claims, self._refused_new_token(error))
        return self._refreshed(new, new_claims)

    def refresh(
        self, cookies: Mapping[str, str], *, organization_id: str | None = None
    ) -> SessionResult:
        """Refresh now, switching to `organization_id` when given (the new token carries its
        `org_id`, `role` and `permissions`). Raises `AuthenticationFailed`: for `sso_required` or
        `mfa_enrollment`, sign in again with `organization_id`."""
        data = self._begin(cookies)
        if isinstance(data, SessionResult):
            return data
        new = self.session_data(self._refresh(data.refresh_token, organization_id), data)
        try:
            claims = self.verifier.verify(new.access_token)
        except TokenInvalid as error:
            raise self._refused_new_token(error) from error
        return self._refreshed(new, claims)

    def authenticate_bearer(self, authorization: str | None) -> AccessTokenClaims | ApiKey:
        """Check an `Authorization` header; `AuthenticationRequired` names the problem.

        >>> authkit.authenticate_bearer(request.headers.get("Authorization")).user_id
        'user_01H...'
        """
        credential = bearer_credential(authorization)
        if has_api_key_prefix(credential, self.api_key_prefixes):
            key = self.api_key_validator(credential)
            if key is None:
                raise AuthenticationRequired("invalid_api_key", "the API key is not valid")
            return key
        try:
            return self.verifier.verify(credential)
        except TokenInvalid as error:
            raise token_refused(error) from error

    def validate_api_key(self, value: str) -> ApiKey | None:
        """Ask the server (`POST /api_keys/validations`); None for an unknown or expired key."""
        url, headers, body = self._api_key_request(value)
        try:
            if self.http_client is not None:
                response = self.http_client.post(url, json=body, headers=headers)
            else:
                with httpx.Client(timeout=self.config.timeout) as client:
                    response = client.post(url, json=body, headers=headers)
        except httpx.HTTPError as error:
            raise network_failure(error) from error
        return self._api_key_answer(*answer(response))

    def _refresh(self, refresh_token: str, organization_id: str | None) -> dict[str, Any]:
        body = self.refresh_body(refresh_token, organization_id)
        return self._flight.run(
            self._refresh_key(refresh_token, organization_id),
            lambda: self.authentication_result(*self._post(AUTHENTICATE, body)),
        )

    def _post(self, path: str, body: dict[str, str]) -> tuple[int, Any]:
        url = self.config.base_url + path
        try:
            if self.http_client is not None:
                return answer(self.http_client.post(url, json=body))
            with httpx.Client(timeout=self.config.timeout) as client:
                return answer(client.post(url, json=body))
        except httpx.HTTPError as error:
            raise network_failure(error) from error
