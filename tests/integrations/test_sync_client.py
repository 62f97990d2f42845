"""`AuthKit`, the synchronous session core, with no web framework: the test plays the app, httpx
plays the browser on the hosted form of a live authkeep. Also what a refresh that fails does:
final (cookie cleared), transient (cookie kept) and lost while the old token is still valid."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from authkeep.crypto import jwt as authkeep_jwt
from authkeep.integrations import (
    AuthenticationFailed,
    AuthenticationRequired,
    AuthKit,
    TokenVerifier,
    seal_data,
)
from tests.integrations.apps import COOKIE_PASSWORD, Site, token_claims
from tests.integrations.test_verifier import signing_key
from tests.signin.hosted import make_user, sign_in
from tests.support import free_port


def sync_authkit(site: Site, **options: Any) -> AuthKit:
    settings: dict[str, Any] = {
        "client_id": site.env.client_id,
        "api_key": site.env.api_key,
        "base_url": site.env.base_url,
        "redirect_uri": f"{site.app_url}/auth/callback",
        "cookie_password": COOKIE_PASSWORD,
        **options,
    }
    return AuthKit(**settings)


def signed_in(site: Site, authkit: AuthKit, email: str) -> Any:
    start = authkit.sign_in(return_to="/reports")
    verifier_cookies = {cookie.name: cookie.value for cookie in start.cookies}
    with site.browser() as browser:
        callback = sign_in(browser, start.url, email)
    query = {k: v[0] for k, v in parse_qs(urlsplit(callback.url).query).items()}
    return authkit.handle_callback(query, verifier_cookies)


def test_sign_in_switch_organization_bearer_and_sign_out(site: Site) -> None:
    authkit = sync_authkit(site)
    org_a = site.admin.post("/organizations", json={"name": "A"}).json()["id"]
    org_b = site.admin.post("/organizations", json={"name": "B"}).json()["id"]
    user = make_user(site.admin, "sync@example.com", (org_a,))
    membership = {"user_id": user["id"], "organization_id": org_b, "role_slug": "admin"}
    assert site.admin.post("/user_management/organization_memberships", json=membership)

    # Two memberships: the hosted flow asks for one, so sign in scoped to A via the URL.
    start = authkit.sign_in(return_to="/reports", organization_id=org_a)
    assert parse_qs(urlsplit(start.url).query)["organization_id"] == [org_a]
    verifier_cookies = {cookie.name: cookie.value for cookie in start.cookies}
    with site.browser() as browser:
        callback = sign_in(browser, start.url, "sync@example.com")
    query = {k: v[0] for k, v in parse_qs(urlsplit(callback.url).query).items()}
    result = authkit.handle_callback(query, verifier_cookies)
    assert result.redirect_to == "/reports"
    assert result.session.user_id == user["id"] and result.session.organization_id == org_a
    assert result.session.user["email"] == "sync@example.com"
    assert result.session.authentication_method == "Password"
    session_cookie, cleared = result.cookies
    assert session_cookie.name == "wos-session" and cleared.max_age == 0
    cookies = {"wos-session": session_cookie.value}

    loaded = authkit.load_session(cookies)
    assert loaded.session is not None and not loaded.refreshed and loaded.reason is None
    assert loaded.session.session_id == result.session.session_id

    switched = authkit.refresh(cookies, organization_id=org_b)
    assert switched.refreshed and switched.session is not None
    assert switched.session.organization_id == org_b and switched.session.role == "admin"
    assert switched.session.session_id == result.session.session_id
    cookies = {"wos-session": switched.cookies[0].value}
    claims = authkit.authenticate_bearer(f"Bearer {switched.session.access_token}")
    assert claims.organization_id == org_b

    org_c = site.admin.post("/organizations", json={"name": "C"}).json()["id"]
    with pytest.raises(AuthenticationFailed) as raised:
        authkit.refresh(cookies, organization_id=org_c)
    assert raised.value.error == "organization_membership_not_found"
    assert raised.value.status == 400 and not raised.value.is_transient

    signed_out = authkit.sign_out(
        {**cookies, "wos-auth-verifier-0badf00d": "x"}, return_to=f"{site.app_url}/signed-out"
    )
    assert {(c.name, c.max_age) for c in signed_out.cookies} == {
        ("wos-session", 0),
        ("wos-auth-verifier-0badf00d", 0),
    }
    with site.browser() as browser:
        ended = browser.get(signed_out.url)
    assert ended.status_code == 302 and ended.headers["location"] == f"{site.app_url}/signed-out"
    with pytest.raises(AuthenticationFailed) as raised:
        authkit.refresh(cookies)
    assert raised.value.error == "invalid_grant"
    # Without a session, signing out goes straight to return_to.
    assert authkit.sign_out({}, return_to="/bye").url == "/bye"


def sealed_session(access_token: str, refresh_token: str, user_id: str) -> str:
    return seal_data(
        {
            "accessToken": access_token,
            "refreshToken": refresh_token,
            "user": {"id": user_id, "email": "x@example.com"},
        },
        COOKIE_PASSWORD,
    )


def test_refresh_failures(site: Site, database_url: str) -> None:
    authkit = sync_authkit(site)
    result = signed_in(site, authkit, make_user(site.admin, "fail@example.com")["email"])
    token, user_id = result.session.access_token, result.session.user_id
    kid = token_claims("x." + token.split(".")[0])["kid"]
    now = int(time.time())
    expired = authkeep_jwt.encode(
        {**token_claims(token), "iat": now - 600, "exp": now - 300},
        signing_key(database_url, kid),
        kid,
    )
    # Final: the server refuses the refresh token; the session cookie is cleared.
    final = authkit.load_session({"wos-session": sealed_session(expired, "bogus", user_id)})
    assert final.session is None and final.reason == "refresh_failed"
    assert [(c.name, c.max_age) for c in final.cookies] == [("wos-session", 0)]
    # Transient: the server cannot be reached; signed out for now, the cookie is kept.
    unreachable = sync_authkit(
        site,
        base_url=f"http://127.0.0.1:{free_port()}",
        verifier=TokenVerifier(base_url=site.env.base_url, client_id=site.env.client_id),
    )
    sealed = sealed_session(expired, result.session.refresh_token, user_id)
    transient = unreachable.load_session({"wos-session": sealed})
    assert transient.session is None and transient.reason == "refresh_unavailable"
    assert transient.cookies == ()
    # Lost while the old token is still valid (a margin that always asks for a refresh).
    eager = sync_authkit(site, refresh_margin=10_000)
    kept = eager.load_session({"wos-session": sealed_session(token, "bogus", user_id)})
    assert kept.session is not None and kept.reason == "refresh_failed_kept"
    assert kept.session.access_token == token and kept.cookies == ()
    # A cookie whose user is not the token's subject is refused, as authkit-nextjs does.
    mismatch = authkit.load_session({"wos-session": sealed_session(token, "x", "user_other")})
    assert mismatch.session is None and mismatch.reason == "user_mismatch"
    # Bearer checks need a Bearer header.
    with pytest.raises(AuthenticationRequired) as refused:
        authkit.authenticate_bearer(None)
    assert refused.value.code == "authentication_required" and refused.value.status == 401
