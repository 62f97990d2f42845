"""The README's FastAPI example, run as written against a live authkeep: configured only by the
WORKOS_* variables, it signs a browser in, answers a bearer call and refuses a missing
permission."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.integrations.apps import COOKIE_PASSWORD, AppServer, Site, sign_in_through_app
from tests.integrations.test_verifier import password_token
from tests.signin.hosted import make_user
from tests.support import LiveServer, free_port, make_environment

README = Path(__file__).resolve().parents[2] / "README.md"


def fastapi_example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    [block] = [b for b in blocks if "from authkeep.integrations.starlette import" in b]
    return block


def test_the_readme_example_works(
    counted_server: LiveServer, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    app_url = f"http://localhost:{port}"
    env = make_environment(
        database_url, counted_server.base_url, redirect_uris=(f"{app_url}/auth/callback",)
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
    namespace: dict[str, Any] = {}
    exec(compile(fastapi_example(), str(README), "exec"), namespace)

    headers = {"Authorization": f"Bearer {env.api_key}"}
    with (
        AppServer(namespace["app"], port),
        httpx.Client(base_url=env.base_url, headers=headers) as admin,
    ):
        make_user(admin, "readme@example.com")
        site = Site(env, app_url, namespace["authkit"], admin)
        with site.browser() as browser:
            landed = sign_in_through_app(site, browser, "readme@example.com", return_to="/")
            assert landed.headers["location"] == "/"
            home = browser.get(f"{app_url}/")
            assert home.json() == {"email": "readme@example.com", "organization": None}
            signed_out = browser.get(f"{app_url}/auth/logout")
            assert "return_to=http%3A%2F%2Flocalhost" in signed_out.headers["location"]
        token = password_token(env, "readme@example.com")
        bearer = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{app_url}/api/reports", headers=bearer).json() == {"organization": None}
        assert httpx.get(f"{app_url}/api/reports").status_code == 401
        denied = httpx.post(f"{app_url}/api/posts", headers=bearer)
        assert denied.status_code == 403 and denied.json()["code"] == "forbidden"
