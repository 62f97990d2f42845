"""Backends' refreshes are answered before the middleware stack (api/token_fast_path.py); every
other request to the token endpoint must reach the app with its body intact."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from authkeep.api import authenticate
from tests.signin.hosted import PASSWORD, make_user, verify
from tests.support import TestEnvironment

URL = "/user_management/authenticate"


@pytest.fixture
def app_one_steps(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each time the app itself tries the one-step refresh (the fast path did not)."""
    calls: list[str] = []
    original = authenticate._refresh_in_one_step

    async def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append("app")
        return await original(*args, **kwargs)

    monkeypatch.setattr(authenticate, "_refresh_in_one_step", counted)
    return calls


def _signed_in(env: TestEnvironment, admin: httpx.Client, email: str) -> dict[str, Any]:
    make_user(admin, email)
    body = {
        "grant_type": "password",
        "client_id": env.client_id,
        "client_secret": env.api_key,
        "email": email,
        "password": PASSWORD,
    }
    answer = httpx.post(env.base_url + URL, json=body)  # also fills the client cache
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    return dict(answer.json())


def test_backend_refreshes_skip_the_app(
    env: TestEnvironment, admin: httpx.Client, app_one_steps: list[str]
) -> None:
    first = _signed_in(env, admin, "fast@example.com")
    sid = verify(env, first["access_token"])["sid"]
    with httpx.Client(base_url=env.base_url) as client:
        json_refresh = client.post(
            URL,
            json={
                "grant_type": "refresh_token",
                "client_id": env.client_id,
                "client_secret": env.api_key,
                "refresh_token": first["refresh_token"],
            },
            headers={"X-Request-ID": "req-fast-1"},
        )
        assert json_refresh.status_code == 200, json_refresh.text
        assert json_refresh.headers["x-request-id"] == "req-fast-1"
        assert json_refresh.headers["content-type"].startswith("application/json")
        assert json_refresh.headers["cache-control"] == "no-store"  # RFC 6749 §5.1
        assert json_refresh.headers["pragma"] == "no-cache"
        second = json_refresh.json()
        assert second["user"]["email"] == "fast@example.com"
        assert verify(env, second["access_token"])["sid"] == sid
        # A form body, the secret as a bearer token.
        form_refresh = client.post(
            URL,
            data={
                "grant_type": "refresh_token",
                "client_id": env.client_id,
                "refresh_token": second["refresh_token"],
            },
            headers={"Authorization": f"Bearer {env.api_key}"},
        )
        assert form_refresh.status_code == 200, form_refresh.text
        assert verify(env, form_refresh.json()["access_token"])["sid"] == sid
        assert form_refresh.headers["x-request-id"]
    assert app_one_steps == []


def test_everything_else_reaches_the_app_with_its_body(
    env: TestEnvironment, admin: httpx.Client, app_one_steps: list[str]
) -> None:
    first = _signed_in(env, admin, "slow@example.com")
    refresh = {
        "grant_type": "refresh_token",
        "client_id": env.client_id,
        "client_secret": env.api_key,
    }
    with httpx.Client(base_url=env.base_url) as client:
        # Declined by the one step: the app explains, without trying it again.
        unknown = client.post(URL, json={**refresh, "refresh_token": "not-a-token"})
        assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_grant"
        assert app_one_steps == []
        wrong_secret = client.post(
            URL,
            json={**refresh, "client_secret": "sk_wrong", "refresh_token": first["refresh_token"]},
        )
        assert wrong_secret.status_code == 400
        assert wrong_secret.json()["error"] == "invalid_client"
        # Unparseable and oversized bodies get the app's answers.
        broken = client.post(URL, content=b"{not json", headers={"Content-Type": "text/plain"})
        assert broken.status_code == 400 and broken.json()["error"] == "invalid_request"
        huge = client.post(
            URL,
            json={**refresh, "refresh_token": "x" * 2_000_000},
        )
        assert huge.status_code == 413
        # A browser (it sends an Origin) goes through CORS and cookie mode in the app.
        browser = client.post(
            URL,
            json={**refresh, "refresh_token": first["refresh_token"]},
            headers={"Origin": "http://localhost:3000"},
        )
        assert browser.status_code == 200, browser.text
        assert app_one_steps == ["app"]
        assert browser.headers["access-control-allow-origin"] == "http://localhost:3000"
        assert browser.headers["cache-control"] == "no-store"
        assert "authkeep-refresh-" in browser.headers.get("set-cookie", "")
        # The token it rotated is still single use, through either path.
        again = client.post(URL, json={**refresh, "refresh_token": first["refresh_token"]})
        assert again.status_code == 200  # inside the grace window: the same successor
        assert again.json()["refresh_token"] == browser.json()["refresh_token"]
