"""`AsyncAuthKit`: the session core for asyncio apps (Starlette, FastAPI)."""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from authkeep.integrations.bearer import (
    DEFAULT_API_KEY_PREFIXES,
    ApiKey,
    AsyncApiKeyValidator,
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
from authkeep.integrations.verifier import AccessTokenClaims, AsyncTokenVerifier

__all__ = ["AsyncAuthKit"]


class AsyncAuthKit(SessionFlows):
    """Sign-in, sessions and bearer checks from asyncio code; share one per process.

    Options as `AuthKit`; `http_client` is an `httpx.AsyncClient` here, and `api_key_validator`
    may also be a coroutine function. Without an `http_client`, each call opens its own client,
    so one instance serves any event loop.

    >>> authkit = AsyncAuthKit(base_url="http://127.0.0.1:8720")
    >>> result = await authkit.load_session(request.cookies)
    >>> result.session.user["email"] if result.session else None
    'ada@example.com'
    """

    def __init__(
        self,
        config: AuthKitConfig | None = None,
        *,
        http_client: httpx.AsyncClient | None = None,
        verifier: AsyncTokenVerifier | None = None,
        api_key_validator: AsyncApiKeyValidator | bool = False,
        api_key_prefixes: tuple[str, ...] = DEFAULT_API_KEY_PREFIXES,
        clock: Callable[[], float] = time.time,
        **overrides: Any,
    ) -> None:
        super().__init__(config, clock, api_key_prefixes, overrides)
        self.http_client = http_client
        self.verifier = verifier or AsyncTokenVerifier(
            base_url=self.config.base_url,
            client_id=self.config.client_id,
            http_client=http_client,
            timeout=self.config.timeout,
            clock=clock,
        )
        if api_key_validator is True:
            api_key_validator = self.validate_api_key
        self.api_key_validator: AsyncApiKeyValidator = api_key_validator or self._refuse_api_keys

    async def handle_callback(
        self, query: Mapping[str, str], cookies: Mapping[str, str]
    ) -> CallbackResult:
        """Finish a sign-in at the redirect URI. Raises `CallbackError` for a bad callback,
        `AuthenticationFailed` when the server refuses the code, `CookieTooLarge` when the
        session would not fit in a cookie.

        >>> result = await authkit.handle_callback(request.args, request.cookies)
        >>> result.redirect_to, [cookie.name for cookie in result.cookies]
        ('/reports', ['wos-session', 'wos-auth-verifier-1a2b3c4d'])
        """
        body, return_to = self.code_exchange(query, cookies)
        data = self.session_data(self.authentication_result(*await self._post(AUTHENTICATE, body)))
        try:
            claims = await self.verifier.verify(data.access_token)
        except TokenInvalid as error:
            raise CallbackError("invalid_token", f"the new access token: {error}") from error
        return self._callback_result(query["state"], data, claims, return_to)

    async def load_session(self, cookies: Mapping[str, str]) -> SessionResult:
        """The request's session, refreshed when due; set `result.cookies` on the response."""
        data = self._begin(cookies)
        if isinstance(data, SessionResult):
            return data
        try:
            claims: AccessTokenClaims | None = await self.verifier.verify(data.access_token)
        except TokenInvalid:
            claims = None
        settled = self._settle(data, claims)
        if settled is not None:
            return settled
        try:
            new = self.session_data(await self._refresh(data.refresh_token, None), data)
            new_claims = await self.verifier.verify(new.access_token)
        except AuthenticationFailed as failure:
            return self._refresh_failed(data, claims, failure)
        except TokenInvalid as error:
            return self._refresh_failed(data, claims, self._refused_new_token(error))
        return self._refreshed(new, new_claims)

    async def refresh(
        self, cookies: Mapping[str, str], *, organization_id: str | None = None
    ) -> SessionResult:
        """Refresh now, switching to `organization_id` when given (the new token carries its
        `org_id`, `role` and `permissions`). Raises `AuthenticationFailed`: for `sso_required` or
        `mfa_enrollment`, sign in again with `organization_id`."""
        data = self._begin(cookies)
        if isinstance(data, SessionResult):
            return data
        new = self.session_data(await self._refresh(data.refresh_token, organization_id), data)
        try:
            claims = await self.verifier.verify(new.access_token)
        except TokenInvalid as error:
            raise self._refused_new_token(error) from error
        return self._refreshed(new, claims)

    async def authenticate_bearer(self, authorization: str | None) -> AccessTokenClaims | ApiKey:
        """Check an `Authorization` header; `AuthenticationRequired` names the problem.

        >>> (await authkit.authenticate_bearer(request.headers.get("Authorization"))).user_id
        'user_01H...'
        """
        credential = bearer_credential(authorization)
        if has_api_key_prefix(credential, self.api_key_prefixes):
            key = self.api_key_validator(credential)
            if inspect.isawaitable(key):
                key = await key
            if key is None:
                raise AuthenticationRequired("invalid_api_key", "the API key is not valid")
            return key
        try:
            return await self.verifier.verify(credential)
        except TokenInvalid as error:
            raise token_refused(error) from error

    async def validate_api_key(self, value: str) -> ApiKey | None:
        """Ask the server (`POST /api_keys/validations`); None for an unknown or expired key."""
        url, headers, body = self._api_key_request(value)
        try:
            if self.http_client is not None:
                response = await self.http_client.post(url, json=body, headers=headers)
            else:
                async with httpx.AsyncClient(timeout=self.config.timeout) as client:
                    response = await client.post(url, json=body, headers=headers)
        except httpx.HTTPError as error:
            raise network_failure(error) from error
        return self._api_key_answer(*answer(response))

    async def _refresh(self, refresh_token: str, organization_id: str | None) -> dict[str, Any]:
        body = self.refresh_body(refresh_token, organization_id)

        async def call() -> dict[str, Any]:
            return self.authentication_result(*await self._post(AUTHENTICATE, body))

        return await self._flight.arun(self._refresh_key(refresh_token, organization_id), call)

    async def _post(self, path: str, body: dict[str, str]) -> tuple[int, Any]:
        url = self.config.base_url + path
        try:
            if self.http_client is not None:
                return answer(await self.http_client.post(url, json=body))
            async with httpx.AsyncClient(timeout=self.config.timeout) as client:
                return answer(await client.post(url, json=body))
        except httpx.HTTPError as error:
            raise network_failure(error) from error
