"""Backends' refreshes are answered before the middleware stack (api/token_fast_path.py); every
other request to the token endpoint must reach the app with its body intact."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from workos import WorkOSClient, create_public_client

from authkeep.api import authenticate
from authkeep.services.grants import password
from authkeep.store.models import Environment, User
from tests.signin.hosted import CALLBACK, PASSWORD, code_for, make_user, sign_in, verify
from tests.support import TestEnvironment, execute_updates

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


@pytest.fixture
def app_code_grants(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each code exchange the app itself runs (the fast path did not take it)."""
    calls: list[str] = []
    original = authenticate.GRANTS["authorization_code"]

    async def counted(ctx: Any) -> Any:
        calls.append(str(ctx.fields.get("code")))
        return await original(ctx)

    monkeypatch.setitem(authenticate.GRANTS, "authorization_code", counted)
    return calls


def _refresh(env: TestEnvironment, refresh_token: str) -> httpx.Response:
    return httpx.post(
        env.base_url + URL,
        json={
            "grant_type": "refresh_token",
            "client_id": env.client_id,
            "client_secret": env.api_key,
            "refresh_token": refresh_token,
        },
    )


def _exchange(env: TestEnvironment, **body: Any) -> httpx.Response:
    return httpx.post(
        env.base_url + URL,
        json={"grant_type": "authorization_code", "client_id": env.client_id, **body},
        headers={"User-Agent": "backend/1.0", "X-Request-ID": "req-code-1"},
        timeout=20,
    )


def test_backend_code_exchanges_skip_the_app(
    env: TestEnvironment,
    admin: httpx.Client,
    sdk: WorkOSClient,
    browser: httpx.Client,
    app_code_grants: list[str],
) -> None:
    org = admin.post("/organizations", json={"name": "Acme"}).json()["id"]
    user = make_user(admin, "code-fast@example.com", (org,), role="admin")
    _signed_in(env, admin, "warm-up@example.com")  # fills this worker's client cache
    code = code_for(sdk, browser, "code-fast@example.com")
    before = dt.datetime.now(dt.UTC)
    answer = _exchange(env, code=code, client_secret=env.api_key)
    assert answer.status_code == 200, answer.text
    assert app_code_grants == []
    assert answer.headers["x-request-id"] == "req-code-1"
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert set(body) == {
        "user",
        "access_token",
        "refresh_token",
        "authentication_method",
        "organization_id",
    }
    assert body["organization_id"] == org and body["authentication_method"] == "Password"
    # The answer's user is the stored one, sign-in time included.
    fetched = admin.get(f"/user_management/users/{user['id']}").json()
    assert body["user"] == fetched
    assert dt.datetime.fromisoformat(fetched["last_sign_in_at"]) >= before - dt.timedelta(seconds=1)
    claims = verify(env, body["access_token"])
    assert claims["sub"] == user["id"] and claims["org_id"] == org
    assert claims["role"] == "admin" and claims["roles"] == ["admin"]
    # The session carries what the request said about the user's browser, and it refreshes.
    sessions = admin.get(f"/user_management/users/{user['id']}/sessions").json()["data"]
    assert [(s["id"], s["user_agent"], s["auth_method"]) for s in sessions] == [
        (claims["sid"], "backend/1.0", "password")
    ]
    assert sessions[0]["ip_address"] == "127.0.0.1" and sessions[0]["organization_id"] == org
    refreshed = _refresh(env, body["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    assert verify(env, refreshed.json()["access_token"])["sid"] == claims["sid"]

    # A public client: the PKCE verifier instead of a secret, in a form body.
    public = create_public_client(client_id=env.client_id, base_url=env.base_url)
    started = public.user_management.get_authorization_url_with_pkce(
        provider="authkit", redirect_uri=CALLBACK
    )
    with httpx.Client(base_url=env.base_url) as another_browser:
        pkce_code = sign_in(another_browser, started["url"], "code-fast@example.com").code
    pkce = httpx.post(
        env.base_url + URL,
        data={
            "grant_type": "authorization_code",
            "client_id": env.client_id,
            "code": pkce_code,
            "code_verifier": started["code_verifier"],
            "ip_address": "203.0.113.7",
        },
    )
    assert pkce.status_code == 200, pkce.text
    assert app_code_grants == []
    pkce_sid = verify(env, pkce.json()["access_token"])["sid"]
    sessions = admin.get(f"/user_management/users/{user['id']}/sessions").json()["data"]
    assert {s["id"]: s["ip_address"] for s in sessions}[pkce_sid] == "203.0.113.7"

    # A replay is refused by the app, and ends the session the one step made.
    replay = _exchange(env, code=code, client_secret=env.api_key)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert app_code_grants == [code]
    ended = _refresh(env, refreshed.json()["refresh_token"])
    assert ended.status_code == 400 and ended.json()["error"] == "invalid_grant"


def _require_verification(database_url: str, environment_id: str, email: str) -> None:
    execute_updates(
        database_url,
        update(Environment)
        .where(Environment.id == environment_id)
        .values(settings={"email_verification_required": True}),
        update(User).where(User.email == email).values(email_verified=False),
    )


def test_code_exchanges_the_one_step_declines_reach_the_app(
    env: TestEnvironment,
    admin: httpx.Client,
    sdk: WorkOSClient,
    browser: httpx.Client,
    app_code_grants: list[str],
    live_server: Any,
    database_url: str,
) -> None:
    make_user(admin, "code-slow@example.com")
    _signed_in(env, admin, "warm-up-2@example.com")
    public = create_public_client(client_id=env.client_id, base_url=env.base_url)
    started = public.user_management.get_authorization_url_with_pkce(
        provider="authkit", redirect_uri=CALLBACK
    )
    code = sign_in(browser, started["url"], "code-slow@example.com").code
    assert code
    # Each refusal leaves the code as it was: the right verifier still redeems it after them.
    wrong = _exchange(env, code=code, code_verifier="x" * 64)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    missing = _exchange(env, code=code, client_secret=env.api_key)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_grant"
    assert app_code_grants == [code, code]
    mixed = _exchange(env, code=code, client_secret="sk_test_not_a_key")
    assert mixed.status_code == 400 and mixed.json()["error"] == "invalid_client"
    right = _exchange(env, code=code, code_verifier=started["code_verifier"])
    assert right.status_code == 200, right.text
    assert app_code_grants == [code, code]  # the one step took it

    # A code without PKCE needs the client secret.
    with httpx.Client(base_url=env.base_url) as another_browser:
        plain = code_for(sdk, another_browser, "code-slow@example.com")
    unauthenticated = _exchange(env, code=plain, code_verifier="v" * 50)
    assert unauthenticated.status_code == 400
    assert unauthenticated.json()["error"] in ("invalid_client", "invalid_grant")
    # An unverified user where verification is required: the app starts the verification.
    _require_verification(database_url, env.environment_id, "code-slow@example.com")
    live_server.state.client_cache.clear()  # the environment's new setting, at once
    unknown = httpx.post(  # loads the client and its environment again
        env.base_url + URL,
        json={
            "grant_type": "refresh_token",
            "client_id": env.client_id,
            "client_secret": env.api_key,
            "refresh_token": "not-a-token",
        },
    )
    assert unknown.status_code == 400
    step_up = _exchange(env, code=plain, client_secret=env.api_key)
    assert step_up.status_code == 403, step_up.text
    assert step_up.json()["code"] == "email_verification_required"
    assert app_code_grants[-1] == plain
