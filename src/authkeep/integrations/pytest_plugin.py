"""pytest fixtures for apps that sign people in with authkeep: real sessions, no bypass.

Installed with authkeep (the `pytest11` entry point `authkeep`), so an app's tests just ask:

    def test_notes(authkeep_session, client):
        ada = authkeep_session(email="ada@example.com")
        assert client.get("/api/notes", headers=ada.authorization_header()).status_code == 200

* `authkeep_server` (session scope): the `AuthkeepServer` the `WORKOS_*` variables (or
  `AUTHKEEP_ENV_JSON`, the output of `authkeep env --json`) point at, checked once: it answers
  and the API key is a development environment's. Otherwise the test fails, saying what to set.
* `authkeep_session`: a factory, `authkeep_session(email=..., organization_id=..., role=...,
  ttl=..., user_id=...)` -> `MintedSession`. The user is created when the e-mail address is
  unknown (`create_user=False` to refuse instead). Sessions are sealed as `wos-session` cookies
  when `WORKOS_COOKIE_PASSWORD` is set.

Loading the plugin reads nothing and calls nothing: only a test asking for a fixture does.
"""

from __future__ import annotations

from typing import Any, Protocol

import pytest

from authkeep.integrations.errors import ConfigurationError
from authkeep.integrations.testing import AuthkeepServer, MintedSession, MintRefused

__all__ = ["SessionFactory", "authkeep_server", "authkeep_session"]


class SessionFactory(Protocol):
    def __call__(
        self,
        email: str | None = None,
        *,
        user_id: str | None = None,
        organization_id: str | None = None,
        role: str | None = None,
        ttl: int | None = None,
        cookie_password: str | None = None,
        create_user: bool = True,
    ) -> MintedSession: ...


@pytest.fixture(scope="session")
def authkeep_server() -> AuthkeepServer:
    """The authkeep development environment the tests mint sessions in."""
    try:
        server = AuthkeepServer.from_env()
        environment = server.describe()
    except (ConfigurationError, ConnectionError, MintRefused) as error:
        pytest.fail(f"authkeep_server: {error}", pytrace=False)
    if environment.get("kind") != "development":
        pytest.fail(
            f"authkeep_server: the API key belongs to the {environment.get('kind')} environment "
            f"{environment.get('name')!r}, and only development environments mint sessions; "
            "use a development environment's WORKOS_API_KEY (see `authkeep env`)",
            pytrace=False,
        )
    if server.client_id is None:
        server = AuthkeepServer(
            server.base_url, server.api_key, environment.get("client_id"), server.cookie_password
        )
    return server


@pytest.fixture
def authkeep_session(authkeep_server: AuthkeepServer) -> SessionFactory:
    """Mint a real session: `authkeep_session(email="ada@example.com", organization_id=...)`."""

    def mint(
        email: str | None = None,
        *,
        user_id: str | None = None,
        organization_id: str | None = None,
        role: str | None = None,
        ttl: int | None = None,
        cookie_password: str | None = None,
        create_user: bool = True,
    ) -> MintedSession:
        options: dict[str, Any] = {
            "email": email,
            "user_id": user_id,
            "organization_id": organization_id,
            "role": role,
            "ttl": ttl,
        }
        if cookie_password is not None:
            options["cookie_password"] = cookie_password
        try:
            return authkeep_server.mint(**options)
        except MintRefused as refused:
            if not (create_user and email and refused.code == "user_not_found"):
                raise
        with authkeep_server.http() as http:
            created = http.post("/user_management/users", json={"email": email})
        if created.status_code != 201:
            raise MintRefused(created.status_code, "user_not_created", created.text[:300])
        return authkeep_server.mint(**options)

    return mint
