"""Hosted pages over HTTP: sign-up, invite-only, branding, sessions' limits, browser (CORS and
cookie-mode) support, configurable issuer."""

from __future__ import annotations

import datetime as dt

import httpx
import jwt
from sqlalchemy import update

from authkeep.services.environments import (
    SignInSettings,
    configure_environment,
    get_environment_by_name,
)
from authkeep.store.db import create_engine, session_factory
from authkeep.store.models import Session
from tests.signin.hosted import (
    CALLBACK,
    PASSWORD,
    callback_of,
    field,
    make_user,
    open_form,
    signin_environment,
    verify,
)
from tests.support import LiveServer, TestEnvironment, run


def configure(database_url: str, env: TestEnvironment, **changes: object) -> None:
    async def go() -> None:
        engine = create_engine(database_url, pool_size=1)
        try:
            async with session_factory(engine)() as session:
                environment = await get_environment_by_name(session, env.name)
                await configure_environment(session, environment, SignInSettings(**changes))  # type: ignore[arg-type]
                await session.commit()
        finally:
            await engine.dispose()

    run(go())


def authorize_url(env: TestEnvironment, **extra: str) -> str:
    params = {
        "client_id": env.client_id,
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "provider": "authkit",
        **extra,
    }
    return str(httpx.URL(f"{env.base_url}/user_management/authorize", params=params))


def sign_up(browser: httpx.Client, page: httpx.Response, **form: str) -> httpx.Response:
    return browser.post(
        "/authkit/sign-up",
        data={
            "request": field(page.text, "request"),
            "csrf_token": field(page.text, "csrf_token"),
            **form,
        },
    )


def test_sign_up_creates_the_account_and_signs_in(env, admin, browser, sdk) -> None:  # type: ignore[no-untyped-def]
    page = open_form(browser, authorize_url(env, screen_hint="sign-up", state="new"))
    assert 'autocomplete="new-password"' in page.text and "Create your account" in page.text
    weak = sign_up(
        browser,
        page,
        first_name="Grace",
        last_name="Hopper",
        email="grace@example.com",
        password="short",
    )
    assert (
        weak.status_code == 400
        and "Choose a stronger password" in weak.text
        and "at least 8 characters" in weak.text
    )
    assert 'value="grace@example.com"' in weak.text  # what was typed is kept, except the password
    done = callback_of(
        sign_up(
            browser,
            weak,
            first_name="Grace",
            last_name="Hopper",
            email="grace@example.com",
            password=PASSWORD,
        )
    )
    assert done.state == "new" and done.code
    auth = sdk.user_management.authenticate_with_code(code=done.code)
    assert auth.user.email == "grace@example.com" and auth.user.first_name == "Grace"
    again = sign_up(
        browser,
        open_form(browser, authorize_url(env, screen_hint="sign-up")),
        email="grace@example.com",
        password=PASSWORD,
    )
    assert again.status_code == 400 and "If you already have one, sign in instead" in again.text


def test_invite_only_environment_refuses_sign_up(
    live_server: LiveServer, database_url: str
) -> None:
    env = signin_environment(database_url, live_server.base_url, signup="invite_only")
    with httpx.Client(base_url=env.base_url) as browser:
        response = browser.get(authorize_url(env, screen_hint="sign-up"))
        page = browser.get(response.headers["location"])
        assert page.status_code == 403 and "by invitation only" in page.text
        # Posting the form anyway creates nothing.
        sign_in_page = open_form(browser, authorize_url(env))
        refused = sign_up(browser, sign_in_page, email="sneaky@example.com", password=PASSWORD)
        assert refused.status_code == 403
    with httpx.Client(
        base_url=env.base_url, headers={"Authorization": f"Bearer {env.api_key}"}
    ) as admin:
        assert admin.get("/user_management/users").json()["data"] == []


def test_pages_carry_the_environment_branding(env, browser, database_url) -> None:  # type: ignore[no-untyped-def]
    configure(
        database_url,
        env,
        brand_name="Acme Cloud",
        brand_color="#0f766e",
        brand_logo_url="https://cdn.example.com/acme.svg",
    )
    page = open_form(browser, authorize_url(env))
    assert "--brand: #0f766e" in page.text and "Acme Cloud" in page.text
    assert 'src="https://cdn.example.com/acme.svg"' in page.text


def _age_session(database_url: str, sid: str, **values: object) -> None:
    async def go() -> None:
        engine = create_engine(database_url, pool_size=1)
        try:
            async with session_factory(engine)() as session:
                await session.execute(update(Session).where(Session.id == sid).values(**values))
                await session.commit()
        finally:
            await engine.dispose()

    run(go())


def test_sessions_end_at_their_maximum_length_and_after_inactivity(
    env, admin, sdk, database_url
) -> None:  # type: ignore[no-untyped-def]
    make_user(admin, "aging@example.com")
    now = dt.datetime.now(dt.UTC)
    for values in (
        {"expires_at": now - dt.timedelta(seconds=1)},
        {"last_active_at": now - dt.timedelta(days=15)},
    ):
        auth = sdk.user_management.authenticate_with_password(
            email="aging@example.com", password=PASSWORD
        )
        _age_session(database_url, verify(env, auth.access_token)["sid"], **values)
        response = httpx.post(
            f"{env.base_url}/user_management/authenticate",
            json={
                "client_id": env.client_id,
                "grant_type": "refresh_token",
                "refresh_token": auth.refresh_token,
            },
        )
        assert response.status_code == 400 and response.json()["error"] == "invalid_grant", (
            response.text
        )


def test_browser_cors_and_cookie_mode_refresh(env, admin, sdk) -> None:  # type: ignore[no-untyped-def]
    origin = "http://localhost:5173"
    preflight = httpx.options(
        f"{env.base_url}/user_management/authenticate",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == origin
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    stranger = httpx.options(
        f"{env.base_url}/user_management/authenticate",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in stranger.headers

    make_user(admin, "cookie@example.com")
    auth = sdk.user_management.authenticate_with_password(
        email="cookie@example.com", password=PASSWORD
    )
    with httpx.Client(base_url=env.base_url, headers={"Origin": origin}) as page:
        first = page.post(
            "/user_management/authenticate",
            json={
                "client_id": env.client_id,
                "grant_type": "refresh_token",
                "refresh_token": auth.refresh_token,
            },
        )
        assert first.status_code == 200 and first.headers["access-control-allow-origin"] == origin
        cookies = first.headers.get_list("set-cookie")
        refresh_cookie = next(
            c for c in cookies if c.startswith(f"authkeep-refresh-{env.client_id}=")
        )
        assert (
            "HttpOnly" in refresh_cookie
            and "Path=/user_management" in refresh_cookie
            and "SameSite=lax" in refresh_cookie
        )
        has_session = next(c for c in cookies if c.startswith("workos-has-session="))
        assert env.client_id in has_session and "HttpOnly" not in has_session
        # Cookie mode: no refresh_token in the body, the cookie carries it (and rotates).
        second = page.post(
            "/user_management/authenticate",
            json={"client_id": env.client_id, "grant_type": "refresh_token"},
        )
        assert second.status_code == 200, second.text
        assert second.json()["refresh_token"] != first.json()["refresh_token"]
        errors = page.post(
            "/user_management/authenticate",
            json={
                "client_id": env.client_id,
                "grant_type": "refresh_token",
                "refresh_token": "bogus",
            },
        )
        assert errors.status_code == 400 and errors.headers["access-control-allow-origin"] == origin
        sid = verify(env, second.json()["access_token"])["sid"]
        signed_out = page.get("/user_management/sessions/logout", params={"session_id": sid})
        cleared = signed_out.headers.get_list("set-cookie")
        assert any(
            c.startswith(f"authkeep-refresh-{env.client_id}=") and "Max-Age=0" in c for c in cleared
        )
        assert any(c.startswith("workos-has-session=") and "Max-Age=0" in c for c in cleared)
    jwks = httpx.get(
        f"{env.base_url}/sso/jwks/{env.client_id}", headers={"Origin": "https://anywhere.example"}
    )
    assert jwks.headers["access-control-allow-origin"] == "*"


def test_issuer_is_configurable_with_both_forms(database_url: str, recorder) -> None:  # type: ignore[no-untyped-def]
    from workos import WorkOSClient

    from tests.support import start_live_server

    server = start_live_server(database_url, wrap=recorder.wrap, config_cache_seconds=0.0)
    try:
        env = signin_environment(database_url, server.base_url)
        with httpx.Client(
            base_url=env.base_url, headers={"Authorization": f"Bearer {env.api_key}"}
        ) as admin:
            make_user(admin, "issuer@example.com")
        sdk = WorkOSClient(api_key=env.api_key, client_id=env.client_id, base_url=env.base_url)
        _check_issuers(env, sdk, database_url)
    finally:
        server.stop()


def _check_issuers(env: TestEnvironment, sdk, database_url: str) -> None:  # type: ignore[no-untyped-def]
    token = sdk.user_management.authenticate_with_password(
        email="issuer@example.com", password=PASSWORD
    ).access_token
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (
        claims["iss"] == f"{env.base_url}/user_management/{env.client_id}" and "aud" not in claims
    )
    configure(database_url, env, issuer="https://auth.example.com/")
    token = sdk.user_management.authenticate_with_password(
        email="issuer@example.com", password=PASSWORD
    ).access_token
    key = jwt.PyJWKClient(f"{env.base_url}/sso/jwks/{env.client_id}").get_signing_key_from_jwt(
        token
    )
    claims = jwt.decode(
        token,
        key.key,
        algorithms=["RS256"],
        issuer="https://auth.example.com/",
        audience=env.client_id,
    )
    assert claims["aud"] == env.client_id
