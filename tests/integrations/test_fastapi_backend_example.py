"""examples/fastapi-backend against a live authkeep (SQLite and PostgreSQL): its own tests, which
use the pytest plugin, run as a user would run them (a pytest process configured by WORKOS_*
variables); and the app under uvicorn, refusing missing, forged, expired and other-client tokens
with a 401 whose `WWW-Authenticate` says why."""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit

import httpx
import pytest

from authkeep.integrations import AsyncAuthKit
from authkeep.integrations.testing import mint_session
from authkeep.services.config_file.parse import load_toml
from tests.integrations.apps import AppServer, token_claims
from tests.integrations.test_verifier import grant_permissions
from tests.support import LiveServer, TestEnvironment, free_port, make_environment

pytest_plugins = ["pytester"]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fastapi-backend"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("notes_backend_example", EXAMPLE / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def env(counted_server: LiveServer, database_url: str) -> TestEnvironment:
    """A development environment whose roles are the example's authkeep.toml's."""
    made = make_environment(database_url, counted_server.base_url)
    declared = load_toml(EXAMPLE / "authkeep.toml").environments["development"]
    [admin] = [role for role in declared.roles or () if role.slug == "admin"]
    grant_permissions(database_url, made, "admin", list(admin.permissions))
    return made


def test_the_examples_own_tests_pass(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, env: TestEnvironment
) -> None:
    for name in list(os.environ):
        if name.startswith(("WORKOS_", "NOTES_")) or name == "AUTHKEEP_ENV_JSON":
            monkeypatch.delenv(name)
    server = urlsplit(env.base_url)
    monkeypatch.setenv("WORKOS_CLIENT_ID", env.client_id)
    monkeypatch.setenv("WORKOS_API_KEY", env.api_key)
    monkeypatch.setenv("WORKOS_API_HOSTNAME", str(server.hostname))
    monkeypatch.setenv("WORKOS_API_PORT", str(server.port))
    monkeypatch.setenv("WORKOS_API_HTTPS", "false")
    result = pytester.runpytest_subprocess(
        str(EXAMPLE / "test_app.py"), "-p", "no:cacheprovider", timeout=120
    )
    result.assert_outcomes(passed=4)


def test_refusals_over_http(
    counted_server: LiveServer, database_url: str, env: TestEnvironment
) -> None:
    http = httpx.Client(base_url=env.base_url, headers={"Authorization": f"Bearer {env.api_key}"})
    with http:
        http.post("/user_management/users", json={"email": "ada@example.com"}).raise_for_status()
    other = make_environment(database_url, counted_server.base_url)
    with httpx.Client(
        base_url=other.base_url, headers={"Authorization": f"Bearer {other.api_key}"}
    ) as http:
        http.post("/user_management/users", json={"email": "ada@example.com"}).raise_for_status()

    authkit = AsyncAuthKit(
        client_id=env.client_id,
        base_url=env.base_url,
        redirect_uri="http://localhost:8000/unused",
        cookie_password="x" * 32,
    )
    port = free_port()
    with AppServer(load_example().create_app(authkit, environ={}), port) as app:
        api = f"{app.url}/api/notes"
        # iat is whole seconds: a 1 s token may already be over when it arrives
        good = mint_session(env.base_url, env.api_key, email="ada@example.com", ttl=3)
        assert httpx.get(api, headers=good.authorization_header()).status_code == 200

        def refused(headers: dict[str, str]) -> str:
            response = httpx.get(api, headers=headers)
            assert response.status_code == 401, response.text
            assert response.json()["message"]
            challenge = response.headers["www-authenticate"]
            assert challenge.startswith('Bearer error="invalid_token", error_description="')
            return challenge

        assert "no access token" in refused({})
        head, payload, signature = good.access_token.split(".")
        forged = f"{head}.{payload}.{signature[:-8]}AAAAAAAA"
        assert "signature" in refused({"Authorization": f"Bearer {forged}"})
        foreign = mint_session(other.base_url, other.api_key, email="ada@example.com")
        assert "another client" in refused(foreign.authorization_header())
        time.sleep(max(0.0, token_claims(good.access_token)["exp"] - time.time() + 0.1))
        assert "expired" in refused(good.authorization_header())
