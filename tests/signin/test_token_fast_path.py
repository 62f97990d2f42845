"""Backends' refreshes are answered before the middleware stack (api/token_fast_path.py); every
other request to the token endpoint must reach the app with its body intact."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from authkeep.api import authenticate
from authkeep.services.grants import password
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


@pytest.fixture
def app_password_grants(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each password grant the app itself runs (the fast path did not take it)."""
    calls: list[str] = []
    original = authenticate.GRANTS["password"]

    async def counted(ctx: Any) -> Any:
        calls.append(ctx.fields.get("email"))
        return await original(ctx)

    monkeypatch.setitem(authenticate.GRANTS, "password", counted)
    return calls


def test_backend_password_sign_ins_skip_the_app(
    env: TestEnvironment, admin: httpx.Client, app_password_grants: list[str]
) -> None:
    make_user(admin, "quick@example.com")
    grant = {
        "grant_type": "password",
        "client_id": env.client_id,
        "client_secret": env.api_key,
        "email": "quick@example.com",
        "password": PASSWORD,
    }
    with httpx.Client(base_url=env.base_url) as client:
        # The worker does not know the client yet: the app signs in and caches it.
        first = client.post(URL, json=grant)
        assert first.status_code == 200, first.text
        assert app_password_grants == ["quick@example.com"]
        answer = client.post(
            URL, json={**grant, "user_agent": "backend/1.0"}, headers={"X-Request-ID": "req-pw-1"}
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["x-request-id"] == "req-pw-1"
        assert answer.headers["content-type"].startswith("application/json")
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["pragma"] == "no-cache"
        body = answer.json()
        assert body["user"]["email"] == "quick@example.com"
        assert body["user"]["last_sign_in_at"] is not None
        assert body["authentication_method"] == "Password"
        claims = verify(env, body["access_token"])
        assert claims["sub"] == body["user"]["id"]
        sessions = admin.get(f"/user_management/users/{claims['sub']}/sessions").json()["data"]
        ours = next(s for s in sessions if s["id"] == claims["sid"])
        assert ours["user_agent"] == "backend/1.0"
        assert ours["ip_address"] == "127.0.0.1"
        # The refresh token it issued works.
        refreshed = client.post(
            URL,
            json={
                "grant_type": "refresh_token",
                "client_id": env.client_id,
                "client_secret": env.api_key,
                "refresh_token": body["refresh_token"],
            },
        )
        assert refreshed.status_code == 200, refreshed.text
        assert verify(env, refreshed.json()["access_token"])["sid"] == claims["sid"]
        # A form body with the secret as a bearer token.
        form = {k: v for k, v in grant.items() if k != "client_secret"}
        by_form = client.post(URL, data=form, headers={"Authorization": f"Bearer {env.api_key}"})
        assert by_form.status_code == 200, by_form.text
        assert by_form.headers["x-request-id"]
        # Refusals are answered here too, in the API's shape: argon2 has run and the attempt
        # has counted, so the app never sees them.
        wrong = client.post(URL, json={**grant, "password": "not the password"})
        unknown = client.post(URL, json={**grant, "email": "nobody@example.com"})
        assert wrong.status_code == unknown.status_code == 400
        assert wrong.json()["code"] == unknown.json()["code"] == "invalid_credentials"
        assert set(wrong.json()) == set(unknown.json())
        assert wrong.headers["x-request-id"] and "cache-control" not in wrong.headers
        bad_secret = client.post(URL, json={**grant, "client_secret": "sk_test_wrong"})
        assert bad_secret.status_code == 400 and bad_secret.json()["error"] == "invalid_client"
        missing = client.post(URL, json={**grant, "password": ""})
        assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
        for _ in range(9):
            client.post(URL, json={**grant, "password": "not the password"})
        limited = client.post(URL, json=grant)
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
        assert limited.json()["code"] == "rate_limit_exceeded"
    assert app_password_grants == ["quick@example.com"]


def test_password_sign_in_failing_unexpectedly_answers_500_in_the_api_shape(
    env: TestEnvironment,
    admin: httpx.Client,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    make_user(admin, "broken@example.com")
    grant = {
        "grant_type": "password",
        "client_id": env.client_id,
        "client_secret": env.api_key,
        "email": "broken@example.com",
        "password": PASSWORD,
    }
    assert httpx.post(env.base_url + URL, json=grant).status_code == 200  # caches the client

    async def broken(ctx: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(password, "grant", broken)
    answer = httpx.post(env.base_url + URL, json=grant, headers={"X-Request-ID": "req-pw-500"})
    assert answer.status_code == 500
    assert answer.json() == {
        "code": "server_error",
        "message": "Internal error. Request ID: req-pw-500.",
    }
    assert answer.headers["x-request-id"] == "req-pw-500"
    assert "disk on fire" in caplog.text and "req-pw-500" in caplog.text
