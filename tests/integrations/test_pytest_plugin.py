"""The pytest plugin (authkeep.integrations.pytest_plugin) as an app's test suite meets it: a test
file run by `pytester` against a live authkeep (SQLite and PostgreSQL), configured only by the
WORKOS_* variables. Minted sessions open a bearer route and a cookie page of a small FastAPI app
that verifies them for real; unconfigured or production setups fail with a message saying why."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import httpx
import pytest

from authkeep.integrations.testing import MintRefused, mint_session
from tests.support import LiveServer, TestEnvironment, make_environment

pytest_plugins = ["pytester"]

COOKIE_PASSWORD = "plugin-test-cookie-password-0123456789abcdef"

APP_TESTS = """
import os
from typing import Annotated

from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient

from authkeep.integrations import AccessTokenClaims, ApiKey, AsyncAuthKit, AuthSession
from authkeep.integrations.starlette import AuthKitMiddleware, require_bearer, require_user

app = FastAPI()
app.add_middleware(AuthKitMiddleware, authkit=AsyncAuthKit())


@app.get("/api/me")
async def api_me(who: Annotated[AccessTokenClaims | ApiKey, Depends(require_bearer)]):
    return {"user_id": who.user_id, "organization_id": who.organization_id}


@app.get("/me", response_class=HTMLResponse)
async def me(session: Annotated[AuthSession, Depends(require_user)]):
    return f"<p>Hello {session.user['email']}</p>"


def test_bearer_route(authkeep_session):
    ada = authkeep_session(email="ada@example.com")
    with TestClient(app) as client:
        answer = client.get("/api/me", headers=ada.authorization_header())
        assert answer.json() == {"user_id": ada.user_id, "organization_id": None}
        assert client.get("/api/me").status_code == 401


def test_cookie_page(authkeep_session):
    ada = authkeep_session(email="ada@example.com")
    with TestClient(app, cookies=ada.cookie(), follow_redirects=False) as client:
        page = client.get("/me", headers={"Accept": "text/html"})
        assert page.status_code == 200 and "Hello ada@example.com" in page.text
    with TestClient(app, follow_redirects=False) as anonymous:
        assert anonymous.get("/me", headers={"Accept": "text/html"}).status_code == 302


def test_server(authkeep_server):
    assert authkeep_server.client_id == os.environ["WORKOS_CLIENT_ID"]
"""


def configure(monkeypatch: pytest.MonkeyPatch, env: TestEnvironment | None) -> None:
    """The app's variables for `env`, and nothing else authkeep reads; None: none at all."""
    for name in list(os.environ):
        if name.startswith("WORKOS_") or name == "AUTHKEEP_ENV_JSON":
            monkeypatch.delenv(name)
    if env is None:
        return
    server = urlsplit(env.base_url)
    for name, value in {
        "WORKOS_CLIENT_ID": env.client_id,
        "WORKOS_API_KEY": env.api_key,
        "WORKOS_COOKIE_PASSWORD": COOKIE_PASSWORD,
        "WORKOS_REDIRECT_URI": "http://localhost:8000/auth/callback",
        "WORKOS_API_HOSTNAME": str(server.hostname),
        "WORKOS_API_PORT": str(server.port),
        "WORKOS_API_HTTPS": "false",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def env(counted_server: LiveServer, database_url: str) -> TestEnvironment:
    return make_environment(database_url, counted_server.base_url)


def test_an_apps_tests_use_the_fixtures(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, env: TestEnvironment
) -> None:
    configure(monkeypatch, env)
    pytester.makepyfile(test_app=APP_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_the_plugin_does_nothing_until_asked(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, None)
    pytester.makepyfile(
        """
        def test_plain():
            assert True

        def test_minted(authkeep_session):
            authkeep_session(email="ada@example.com")
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*authkeep_server: no authkeep server configured: set WORKOS_API_HOSTNAME*WORKOS_API_KEY*"]
    )


def test_a_production_environment_is_refused(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    counted_server: LiveServer,
    database_url: str,
) -> None:
    production = make_environment(database_url, counted_server.base_url, kind="production")
    headers = {"Authorization": f"Bearer {production.api_key}"}
    with httpx.Client(base_url=production.base_url, headers=headers) as http:
        http.post("/user_management/users", json={"email": "prod@example.com"}).raise_for_status()
    with pytest.raises(MintRefused, match="only for development environments") as refused:
        mint_session(production.base_url, production.api_key, email="prod@example.com")
    assert refused.value.status == 404

    configure(monkeypatch, production)
    pytester.makepyfile("def test_minted(authkeep_session):\n    authkeep_session(email='x@y.z')\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*belongs to the production environment*development*"])


def test_mint_session_directly(env: TestEnvironment) -> None:
    headers = {"Authorization": f"Bearer {env.api_key}"}
    with httpx.Client(base_url=env.base_url, headers=headers) as http:
        user = http.post("/user_management/users", json={"email": "grace@example.com"}).json()
        org = http.post("/organizations", json={"name": "Navy"}).json()["id"]
        membership = {"user_id": user["id"], "organization_id": org}
        assert http.post("/user_management/organization_memberships", json=membership).is_success
        http.post("/user_management/users", json={"email": "outsider@example.com"})

    minted = mint_session(
        env.base_url, env.api_key, user_id=user["id"], organization_id=org, role="admin", ttl=60
    )
    assert minted.user["email"] == "grace@example.com" and minted.organization_id == org
    assert minted.authorization_header() == {"Authorization": f"Bearer {minted.access_token}"}
    with pytest.raises(ValueError, match="without cookie_password"):
        minted.cookie()
    sealed = mint_session(
        env.base_url, env.api_key, email="grace@example.com", cookie_password=COOKIE_PASSWORD
    )
    assert sealed.cookie("app-session") == {"app-session": sealed.sealed_session}

    with pytest.raises(MintRefused, match="not an active member") as refused:
        mint_session(env.base_url, env.api_key, email="outsider@example.com", organization_id=org)
    assert refused.value.code == "organization_membership_not_found"
    with pytest.raises(MintRefused, match="API key was refused"):
        mint_session(env.base_url, "sk_test_wrong", email="grace@example.com")
