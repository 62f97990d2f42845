"""The README's Flask example, run as written against a live authkeep: configured by `app.config`
keys set after import and the environment, it signs a browser in, answers a bearer call and
refuses a missing permission."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from authkeep.integrations.flask_support import app_auth
from tests.integrations.apps import COOKIE_PASSWORD, sign_in_through_app
from tests.integrations.flask_apps import FlaskSite, WsgiServer
from tests.integrations.test_verifier import password_token
from tests.signin.hosted import make_user
from tests.support import LiveServer, free_port, make_environment

README = Path(__file__).resolve().parents[2] / "README.md"


def flask_example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    [block] = [b for b in blocks if "AuthKitFlask(app" in b]
    return block


def test_the_flask_readme_example_works(
    counted_server: LiveServer, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    app_url = f"http://localhost:{port}"
    env = make_environment(
        database_url,
        counted_server.base_url,
        redirect_uris=(f"{app_url}/auth/callback",),
        logout_uris=(f"{app_url}/",),
    )
    server = urlsplit(counted_server.base_url)
    for name, value in {
        "WORKOS_CLIENT_ID": env.client_id,
        "WORKOS_API_KEY": env.api_key,
        "WORKOS_COOKIE_PASSWORD": COOKIE_PASSWORD,
        "WORKOS_REDIRECT_URI": f"{app_url}/auth/callback",
        "WORKOS_API_HOSTNAME": str(server.hostname),
        "WORKOS_API_PORT": str(server.port),
        "WORKOS_API_HTTPS": "false",
    }.items():
        monkeypatch.setenv(name, value)
    namespace: dict[str, Any] = {"__name__": "readme_flask_example"}
    exec(compile(flask_example(), str(README), "exec"), namespace)
    app = namespace["app"]
    assert app_auth(app).authkit.config.client_id == env.client_id

    headers = {"Authorization": f"Bearer {env.api_key}"}
    with (
        WsgiServer(app, port),
        httpx.Client(base_url=env.base_url, headers=headers) as admin,
    ):
        make_user(admin, "readme@example.com")
        site = FlaskSite(env, app_url, app_auth(app).authkit, admin)
        with site.browser() as browser:
            landed = sign_in_through_app(site, browser, "readme@example.com", return_to="/")  # type: ignore[arg-type]
            assert landed.headers["location"] == "/"
            home = browser.get(f"{app_url}/")
            assert home.json() == {"email": "readme@example.com", "organization": None}
            signed_out = browser.get(f"{app_url}/auth/logout")
            assert "return_to=http%3A%2F%2Flocalhost" in signed_out.headers["location"]
            assert browser.get(signed_out.headers["location"]).headers["location"] == f"{app_url}/"
        token = password_token(env, "readme@example.com")
        bearer = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{app_url}/api/reports", headers=bearer).json() == {"organization": None}
        assert httpx.get(f"{app_url}/api/reports").status_code == 401
        denied = httpx.post(f"{app_url}/api/posts", headers=bearer)
        assert denied.status_code == 403 and denied.json()["code"] == "forbidden"


def test_app_config_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from flask import Flask

    from authkeep.integrations.flask import AuthKitFlask

    monkeypatch.setenv("WORKOS_CLIENT_ID", "client_from_environment")
    monkeypatch.setenv("WORKOS_COOKIE_PASSWORD", COOKIE_PASSWORD)
    monkeypatch.setenv("WORKOS_REDIRECT_URI", "http://localhost:5000/auth/callback")
    app = Flask(__name__)
    app.config["WORKOS_CLIENT_ID"] = "client_from_app_config"
    AuthKitFlask(app, base_url="http://127.0.0.1:9")
    config = app_auth(app).authkit.config
    assert config.client_id == "client_from_app_config"
    assert config.redirect_uri == "http://localhost:5000/auth/callback"
    assert config.base_url == "http://127.0.0.1:9"
