"""Security properties of sign-in (RFC 9700, OWASP ASVS): single-use codes, PKCE, exact redirect
URIs, no open redirects, refresh rotation with reuse detection, CSRF, no user enumeration,
attempt limits."""

from __future__ import annotations

import base64
import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import jwt
import pytest
from workos import WorkOSClient, create_public_client

from tests.signin.hosted import (
    CALLBACK,
    LOGOUT_RETURN,
    PASSWORD,
    code_for,
    field,
    make_user,
    open_form,
    sign_in,
    signin_environment,
    verify,
)
from tests.support import LiveServer, TestEnvironment


def authenticate(env: TestEnvironment, **body: Any) -> httpx.Response:
    return httpx.post(
        f"{env.base_url}/user_management/authenticate",
        json={"client_id": env.client_id, **body},
        timeout=20,
    )


def test_code_replay_fails_and_ends_what_the_code_gave(env, admin, sdk, browser) -> None:  # type: ignore[no-untyped-def]
    make_user(admin, "replay@example.com")
    code = code_for(sdk, browser, "replay@example.com")
    first = authenticate(env, grant_type="authorization_code", code=code, client_secret=env.api_key)
    assert first.status_code == 200
    replay = authenticate(
        env, grant_type="authorization_code", code=code, client_secret=env.api_key
    )
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    refresh = authenticate(
        env,
        grant_type="refresh_token",
        refresh_token=first.json()["refresh_token"],
        client_secret=env.api_key,
    )
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"


def test_pkce_and_client_binding(
    env, admin, browser, live_server: LiveServer, database_url: str
) -> None:  # type: ignore[no-untyped-def]
    make_user(admin, "pkce-sec@example.com")
    public = create_public_client(client_id=env.client_id, base_url=env.base_url)
    started = public.user_management.get_authorization_url_with_pkce(
        provider="authkit", redirect_uri=CALLBACK
    )
    code = sign_in(browser, started["url"], "pkce-sec@example.com").code
    wrong = authenticate(env, grant_type="authorization_code", code=code, code_verifier="x" * 64)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    # A code is bound to its client: another environment's client cannot redeem it.
    other = signin_environment(database_url, live_server.base_url)
    stolen = httpx.post(
        f"{env.base_url}/user_management/authenticate",
        json={
            "client_id": other.client_id,
            "grant_type": "authorization_code",
            "code": code,
            "client_secret": other.api_key,
            "code_verifier": started["code_verifier"],
        },
    )
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    # A secret of another environment is not this client's secret.
    mixed = authenticate(
        env, grant_type="authorization_code", code=code, client_secret=other.api_key
    )
    assert mixed.status_code == 400 and mixed.json()["error"] == "invalid_client"


def test_code_without_pkce_needs_the_client_secret(env, admin, sdk, browser) -> None:  # type: ignore[no-untyped-def]
    make_user(admin, "secret-only@example.com")
    code = code_for(sdk, browser, "secret-only@example.com")
    response = authenticate(env, grant_type="authorization_code", code=code, code_verifier="v" * 50)
    assert response.status_code == 400 and response.json()["error"] in (
        "invalid_client",
        "invalid_grant",
    )


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://localhost:3000/callback/extra",  # prefix
        "http://localhost:3000/Callback",  # case
        "http://localhost:3000/callback/",  # trailing slash
        "http://evil.example@localhost:3000/callback",  # userinfo
        "http://localhost:3000/%63allback",  # percent-encoding
        "http://localhost:3001/callback",  # another port, outside development
        "https://localhost:3000/callback",  # another scheme
        "http://localhost:3000/callback?next=https://evil.example",  # extra query
    ],
)
def test_redirect_uri_must_match_exactly(
    redirect_uri: str, live_server: LiveServer, database_url: str
) -> None:
    env = signin_environment(database_url, live_server.base_url, kind="production")
    response = httpx.get(
        f"{env.base_url}/user_management/authorize",
        params={
            "client_id": env.client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "provider": "authkit",
            "state": "s",
        },
    )
    assert response.status_code == 400, response.headers
    assert "location" not in response.headers
    assert "Redirect URI not allowed" in response.text


def test_loopback_port_is_free_only_in_development(env: TestEnvironment) -> None:
    ok = httpx.get(
        f"{env.base_url}/user_management/authorize",
        params={
            "client_id": env.client_id,
            "redirect_uri": "http://localhost:5173/callback",
            "response_type": "code",
            "provider": "authkit",
        },
    )
    assert ok.status_code == 302 and ok.headers["location"].startswith("/authkit/sign-in")
    userinfo = httpx.get(
        f"{env.base_url}/user_management/authorize",
        params={
            "client_id": env.client_id,
            "redirect_uri": "http://x@localhost:5173/callback",
            "response_type": "code",
        },
    )
    assert userinfo.status_code == 400


def test_authorize_errors_go_back_to_the_app_only_when_it_is_known(env: TestEnvironment) -> None:
    unknown = httpx.get(
        f"{env.base_url}/user_management/authorize",
        params={
            "client_id": "client_01HZZZZZZZZZZZZZZZZZZZZZZZ",
            "redirect_uri": CALLBACK,
            "response_type": "code",
        },
    )
    assert unknown.status_code == 400 and "location" not in unknown.headers
    bad = httpx.get(
        f"{env.base_url}/user_management/authorize",
        params={
            "client_id": env.client_id,
            "redirect_uri": CALLBACK,
            "response_type": "token",
            "state": "keep me",
        },
    )
    assert bad.status_code == 302
    assert bad.headers["location"].startswith(CALLBACK + "?error=unsupported_response_type")
    assert "state=keep+me" in bad.headers["location"]


@pytest.mark.parametrize(
    "return_to",
    [
        "https://evil.example/",
        "//evil.example",
        "http://localhost:3000/signed-out/../../evil",
        LOGOUT_RETURN + "x",
    ],
)
def test_logout_never_redirects_to_an_unregistered_address(env, admin, sdk, return_to: str) -> None:  # type: ignore[no-untyped-def]
    make_user(admin, "logout@example.com")
    auth = sdk.user_management.authenticate_with_password(
        email="logout@example.com", password=PASSWORD
    )
    sid = verify(env, auth.access_token)["sid"]
    response = httpx.get(
        f"{env.base_url}/user_management/sessions/logout",
        params={"session_id": sid, "return_to": return_to},
    )
    assert response.status_code == 200 and "location" not in response.headers
    assert "You are signed out" in response.text
    # ... but the session did end.
    assert (
        authenticate(
            env,
            grant_type="refresh_token",
            refresh_token=auth.refresh_token,
            client_secret=env.api_key,
        ).status_code
        == 400
    )


def test_refresh_reuse_inside_grace_returns_the_same_rotation(env, admin, sdk) -> None:  # type: ignore[no-untyped-def]
    make_user(admin, "grace@example.com")
    auth = sdk.user_management.authenticate_with_password(
        email="grace@example.com", password=PASSWORD
    )
    first = authenticate(
        env, grant_type="refresh_token", refresh_token=auth.refresh_token, client_secret=env.api_key
    ).json()
    second = authenticate(
        env, grant_type="refresh_token", refresh_token=auth.refresh_token, client_secret=env.api_key
    ).json()
    assert first["refresh_token"] == second["refresh_token"]
    assert verify(env, second["access_token"])["sid"] == verify(env, first["access_token"])["sid"]


def test_refresh_reuse_after_grace_revokes_the_session(
    live_server: LiveServer, database_url: str
) -> None:
    env = signin_environment(database_url, live_server.base_url, refresh_grace_seconds=0)
    with httpx.Client(
        base_url=env.base_url, headers={"Authorization": f"Bearer {env.api_key}"}
    ) as admin:
        make_user(admin, "reuse@example.com")
    sdk = WorkOSClient(api_key=env.api_key, client_id=env.client_id, base_url=env.base_url)
    auth = sdk.user_management.authenticate_with_password(
        email="reuse@example.com", password=PASSWORD
    )
    rotated = authenticate(
        env, grant_type="refresh_token", refresh_token=auth.refresh_token, client_secret=env.api_key
    ).json()
    time.sleep(0.05)
    stolen = authenticate(
        env, grant_type="refresh_token", refresh_token=auth.refresh_token, client_secret=env.api_key
    )
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    # The legitimate holder's newer token died with the session.
    legit = authenticate(
        env,
        grant_type="refresh_token",
        refresh_token=rotated["refresh_token"],
        client_secret=env.api_key,
    )
    assert legit.status_code == 400 and legit.json()["error"] == "invalid_grant"


def test_concurrent_refreshes_rotate_once(env, admin, sdk, database_url: str) -> None:  # type: ignore[no-untyped-def]
    user = make_user(admin, "race@example.com")
    auth = sdk.user_management.authenticate_with_password(
        email="race@example.com", password=PASSWORD
    )
    sid = verify(env, auth.access_token)["sid"]

    def refresh(_: int) -> httpx.Response:
        return authenticate(
            env,
            grant_type="refresh_token",
            refresh_token=auth.refresh_token,
            client_secret=env.api_key,
        )

    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(refresh, range(10)))
    assert all(r.status_code in (200, 400) for r in responses), [r.text for r in responses]
    good = [r.json() for r in responses if r.status_code == 200]
    assert good, [r.text for r in responses]
    assert all(r.json()["error"] == "invalid_grant" for r in responses if r.status_code == 400)
    assert len({g["refresh_token"] for g in good}) == 1  # rotated once
    assert {verify(env, g["access_token"])["sid"] for g in good} == {sid}
    sessions = sdk.user_management.list_sessions(user["id"]).data
    assert [s.id for s in sessions] == [sid]
    # The one successor keeps working.
    assert (
        authenticate(
            env,
            grant_type="refresh_token",
            refresh_token=good[0]["refresh_token"],
            client_secret=env.api_key,
        ).status_code
        == 200
    )


def test_organization_switch_to_a_foreign_organization_is_refused(env, admin, sdk) -> None:  # type: ignore[no-untyped-def]
    make_user(admin, "switch@example.com")
    other_org = admin.post("/organizations", json={"name": "Not mine"}).json()["id"]
    auth = sdk.user_management.authenticate_with_password(
        email="switch@example.com", password=PASSWORD
    )
    response = authenticate(
        env,
        grant_type="refresh_token",
        refresh_token=auth.refresh_token,
        client_secret=env.api_key,
        organization_id=other_org,
    )
    assert (
        response.status_code == 400
        and response.json()["error"] == "organization_membership_not_found"
    )


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_tampered_and_foreign_tokens_are_rejected(env, admin, sdk) -> None:  # type: ignore[no-untyped-def]
    make_user(admin, "tamper@example.com")
    token = sdk.user_management.authenticate_with_password(
        email="tamper@example.com", password=PASSWORD
    ).access_token
    header, payload, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = ".".join(
        [header, _b64({**claims, "sub": "user_01HZZZZZZZZZZZZZZZZZZZZZZZ"}), signature]
    )
    with pytest.raises(jwt.InvalidSignatureError):
        verify(env, forged)
    unsigned = ".".join([_b64({"alg": "none", "typ": "JWT"}), payload, ""])
    with pytest.raises(jwt.PyJWTError):
        verify(env, unsigned)


def test_expired_tokens_are_rejected(live_server: LiveServer, database_url: str) -> None:
    env = signin_environment(database_url, live_server.base_url)
    with httpx.Client(
        base_url=env.base_url, headers={"Authorization": f"Bearer {env.api_key}"}
    ) as admin:
        make_user(admin, "expiry@example.com")
    from tests.support import set_access_token_ttl

    set_access_token_ttl(database_url, env.environment_id, 1)
    sdk = WorkOSClient(api_key=env.api_key, client_id=env.client_id, base_url=env.base_url)
    token = sdk.user_management.authenticate_with_password(
        email="expiry@example.com", password=PASSWORD
    ).access_token
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 1
    time.sleep(2.1)
    with pytest.raises(jwt.ExpiredSignatureError):
        verify(env, token)


def test_forms_need_their_csrf_token(env, admin, sdk, browser) -> None:  # type: ignore[no-untyped-def]
    make_user(admin, "csrf@example.com")
    page = open_form(
        browser,
        sdk.user_management.get_authorization_url(provider="authkit", redirect_uri=CALLBACK),
    )
    request_id = field(page.text, "request")
    missing = browser.post(
        "/authkit/sign-in",
        data={"request": request_id, "email": "csrf@example.com", "password": PASSWORD},
    )
    assert missing.status_code == 403 and "This form has expired" in missing.text
    forged = browser.post(
        "/authkit/sign-in",
        data={
            "request": request_id,
            "csrf_token": "0" * 64,
            "email": "csrf@example.com",
            "password": PASSWORD,
        },
    )
    assert forged.status_code == 403
    with httpx.Client(
        base_url=env.base_url
    ) as other_browser:  # a token from another browser's page
        stolen = other_browser.post(
            "/authkit/sign-in",
            data={
                "request": request_id,
                "csrf_token": field(page.text, "csrf_token"),
                "email": "csrf@example.com",
                "password": PASSWORD,
            },
        )
    assert stolen.status_code == 403
    assert (
        page.headers["x-frame-options"] == "DENY"
        and "frame-ancestors 'none'" in page.headers["content-security-policy"]
    )


def test_unknown_email_is_indistinguishable_from_a_wrong_password(env, admin) -> None:  # type: ignore[no-untyped-def]
    make_user(admin, "known@example.com")

    def attempt(email: str) -> tuple[httpx.Response, float]:
        started = time.perf_counter()
        response = authenticate(
            env,
            grant_type="password",
            email=email,
            password="not the password",
            client_secret=env.api_key,
        )
        return response, time.perf_counter() - started

    known = [attempt("known@example.com") for _ in range(4)]
    unknown = [attempt("nobody@example.com") for _ in range(4)]
    for (a, _), (b, _) in zip(known, unknown, strict=True):
        assert a.status_code == b.status_code == 400
        assert a.json()["code"] == b.json()["code"] == "invalid_credentials"
        assert set(a.json()) == set(b.json())
    # Both paths run argon2id: without the dummy hash an unknown e-mail answers ~40x faster.
    ratio = statistics.median(t for _, t in unknown) / statistics.median(t for _, t in known)
    assert 0.33 < ratio < 3, ratio


def test_password_attempts_are_limited_per_account(env, admin) -> None:  # type: ignore[no-untyped-def]
    make_user(admin, "limited@example.com")
    for _ in range(10):
        assert (
            authenticate(
                env,
                grant_type="password",
                email="limited@example.com",
                password="wrong",
                client_secret=env.api_key,
            ).status_code
            == 400
        )
    limited = authenticate(
        env,
        grant_type="password",
        email="limited@example.com",
        password=PASSWORD,
        client_secret=env.api_key,
    )
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert limited.json()["code"] == "rate_limit_exceeded"


def test_authenticate_rejects_bad_requests(env: TestEnvironment) -> None:
    cases = [
        ({}, "invalid_request"),
        ({"grant_type": "implicit"}, "invalid_request"),
        ({"grant_type": "refresh_token"}, "invalid_grant"),
        ({"grant_type": "refresh_token", "refresh_token": "nope"}, "invalid_grant"),
        (
            {"grant_type": "authorization_code", "code": "nope", "client_secret": env.api_key},
            "invalid_grant",
        ),
        (
            {
                "grant_type": "password",
                "email": "a@b.c",
                "password": "x",
                "client_secret": "sk_test_wrong",
            },
            "invalid_client",
        ),
    ]
    for body, error in cases:
        response = authenticate(env, **body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error"] == error, (body, response.json())
    unknown_client = httpx.post(
        f"{env.base_url}/user_management/authenticate",
        json={"client_id": "client_nope", "grant_type": "refresh_token", "refresh_token": "x"},
    )
    assert unknown_client.status_code == 400 and unknown_client.json()["error"] == "invalid_client"
    form = httpx.post(
        f"{env.base_url}/user_management/authenticate",
        data={"client_id": env.client_id, "grant_type": "refresh_token", "refresh_token": "x"},
    )
    assert form.status_code == 400 and form.json()["error"] == "invalid_grant"
    garbage = httpx.post(
        f"{env.base_url}/user_management/authenticate",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert garbage.status_code == 400 and garbage.json()["error"] == "invalid_request"
