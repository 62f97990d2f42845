"""Real sessions for an app's test suite, minted by an authkeep development environment.

    from authkeep.integrations.testing import mint_session

    minted = mint_session("http://127.0.0.1:8720", api_key, email="ada@example.com")
    client.get("/api/notes", headers=minted.authorization_header())

`mint_session` calls `POST /_authkeep/dev/sessions` (README, "Local development tools"): the
session is a real one, with an access token signed by the environment's key, that the app
verifies as it would any other. Nothing is bypassed, so only development environments mint;
a production environment's refusal is raised as `MintRefused` saying so.

`AuthkeepServer.from_env()` finds the server the way the app does: `AUTHKEEP_ENV_JSON` (the
output of `authkeep env --json`, or a file holding it), else the `WORKOS_*` variables
(`WORKOS_API_HOSTNAME`/`WORKOS_API_PORT`/`WORKOS_API_HTTPS` or `WORKOS_BASE_URL`, and
`WORKOS_API_KEY`). The pytest fixtures built on these live in `authkeep.integrations.pytest_plugin`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from authkeep.integrations.config import _base_url
from authkeep.integrations.errors import ConfigurationError

__all__ = ["AuthkeepServer", "MintRefused", "MintedSession", "mint_session"]

MINT_PATH = "/_authkeep/dev/sessions"
SETUP_HINT = (
    "set WORKOS_API_HOSTNAME, WORKOS_API_PORT and WORKOS_API_HTTPS (or WORKOS_BASE_URL) and "
    "WORKOS_API_KEY to a development environment of authkeep, or AUTHKEEP_ENV_JSON to the output "
    "of `authkeep env --json`"
)


class MintRefused(Exception):
    """The server would not mint: `status`, `code` and its message, with what to do."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{message} ({status} {code})")
        self.status = status
        self.code = code


@dataclass(frozen=True, slots=True)
class MintedSession:
    """A minted session: tokens, the user (the API's JSON), and the sealed cookie when a cookie
    password was given."""

    session_id: str
    access_token: str
    refresh_token: str
    user: Mapping[str, Any]
    organization_id: str | None = None
    sealed_session: str | None = field(default=None, repr=False)

    @property
    def user_id(self) -> str:
        return str(self.user["id"])

    def authorization_header(self) -> dict[str, str]:
        """`{"Authorization": "Bearer <access token>"}`, for `headers=`."""
        return {"Authorization": f"Bearer {self.access_token}"}

    def cookie(self, name: str = "wos-session") -> dict[str, str]:
        """`{name: sealed session}`, for `cookies=`; the app must share the cookie password."""
        if self.sealed_session is None:
            raise ValueError("this session was minted without cookie_password: it has no cookie")
        return {name: self.sealed_session}


def mint_session(
    base_url: str,
    api_key: str,
    *,
    email: str | None = None,
    user_id: str | None = None,
    organization_id: str | None = None,
    role: str | None = None,
    ttl: int | None = None,
    cookie_password: str | None = None,
    timeout: float = 10.0,
) -> MintedSession:
    """Mint a session for the user with `email` or `user_id` (one of them). `organization_id`
    needs an active membership; `role` (with it) replaces this token's role claims; `ttl` is the
    access token's lifetime in seconds. Raises `MintRefused`, or `ConnectionError` when no server
    answers."""
    body: dict[str, Any] = {"email": email, "user_id": user_id}
    body |= {"organization_id": organization_id, "role_slug": role, "access_token_ttl": ttl}
    body |= {"cookie_password": cookie_password}
    url = base_url.rstrip("/") + MINT_PATH
    headers = {"Authorization": f"Bearer {api_key}"}
    try:
        response = httpx.post(
            url,
            json={k: v for k, v in body.items() if v is not None},
            headers=headers,
            timeout=timeout,
        )
    except httpx.HTTPError as error:
        raise ConnectionError(f"no authkeep server answers at {base_url}: {error}") from error
    if response.status_code != 201:
        raise _refusal(response)
    data = response.json()
    return MintedSession(
        session_id=data["session_id"],
        access_token=data["access_token"],
        refresh_token=data["refresh_token"],
        user=data["user"],
        organization_id=data.get("organization_id"),
        sealed_session=data.get("sealed_session"),
    )


def _refusal(response: httpx.Response) -> MintRefused:
    try:
        body = response.json()
    except ValueError:
        body = {}
    code = str(body.get("code") or body.get("error") or "unexpected_response")
    message = str(body.get("message") or body.get("error_description") or response.text[:200])
    if response.status_code == 404 and "development environments" in message:
        message = (
            "authkeep mints sessions only for development environments, and this API key "
            "belongs to a production environment: point the tests at a development one"
        )
    elif response.status_code == 404:
        message = f"{response.url} is not an authkeep server's mint endpoint: {message}"
    elif response.status_code == 401:
        message = f"the API key was refused ({message}); {SETUP_HINT}"
    return MintRefused(response.status_code, code, message)


@dataclass(frozen=True, slots=True)
class AuthkeepServer:
    """Where to mint: a server's URL, a development environment's API key, and optionally its
    client ID and the app's cookie password (minted sessions are then sealed with it)."""

    base_url: str
    api_key: str
    client_id: str | None = None
    cookie_password: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AuthkeepServer:
        """From `AUTHKEEP_ENV_JSON` or the `WORKOS_*` variables; `ConfigurationError` naming
        the variables to set when neither says where the server is."""
        env = os.environ if environ is None else environ
        password = env.get("WORKOS_COOKIE_PASSWORD") or None
        described = env.get("AUTHKEEP_ENV_JSON")
        if described:
            text = described if described.lstrip().startswith("{") else Path(described).read_text()
            try:
                info = json.loads(text)
                return cls(info["base_url"], info["api_key"], info.get("client_id"), password)
            except (ValueError, KeyError, TypeError) as error:
                raise ConfigurationError(
                    f"AUTHKEEP_ENV_JSON is not the output of `authkeep env --json`: {error!r}"
                ) from None
        if not (env.get("WORKOS_API_HOSTNAME") or env.get("WORKOS_BASE_URL")):
            raise ConfigurationError(f"no authkeep server configured: {SETUP_HINT}")
        api_key = env.get("WORKOS_API_KEY")
        if not api_key:
            raise ConfigurationError(f"WORKOS_API_KEY is not set: {SETUP_HINT}")
        return cls(_base_url(env), api_key, env.get("WORKOS_CLIENT_ID") or None, password)

    def http(self) -> httpx.Client:
        """An API client for setting up users, organizations and memberships."""
        headers = {"Authorization": f"Bearer {self.api_key}"}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=10)

    def describe(self) -> dict[str, Any]:
        """`GET /_authkeep/environment`: the API key's environment (kind, client ID, issuer)."""
        try:
            with self.http() as http:
                response = http.get("/_authkeep/environment")
        except httpx.HTTPError as error:
            raise ConnectionError(
                f"no authkeep server answers at {self.base_url} ({error}); start one with "
                f"`authkeep dev`, or {SETUP_HINT}"
            ) from error
        if response.status_code != 200:
            raise _refusal(response)
        return dict(response.json())

    def mint(self, **options: Any) -> MintedSession:
        """`mint_session` against this server, sealed with its cookie password by default."""
        options.setdefault("cookie_password", self.cookie_password)
        return mint_session(self.base_url, self.api_key, **options)
