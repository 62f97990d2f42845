"""AuthKit sign-in end to end with the official `workos` Python SDK against a live server:
authorize, the hosted form over real HTTP (CSRF included), code exchange with a client secret and
with PKCE, sealed sessions, refresh with an organization switch, and sign-out."""

from __future__ import annotations

import httpx
import pytest
from cryptography.fernet import Fernet
from workos import WorkOSClient, create_public_client
from workos._errors import BadRequestError, OrganizationSelectionRequiredError
from workos.session import seal_session_from_auth_response

from tests.signin.hosted import (
    CALLBACK,
    LOGOUT_RETURN,
    PASSWORD,
    callback_of,
    choose_organization,
    make_user,
    open_form,
    sealed_access_token,
    sign_in,
    submit_sign_in,
    verify,
)
from tests.support import TestEnvironment


def test_code_exchange_sealed_session_refresh_switch_and_logout(
    env: TestEnvironment, admin: httpx.Client, sdk: WorkOSClient, browser: httpx.Client
) -> None:
    org_a = admin.post("/organizations", json={"name": "Alpha"}).json()["id"]
    org_b = admin.post("/organizations", json={"name": "Beta"}).json()["id"]
    user = make_user(admin, "ada@example.com", (org_a,))
    make_admin = {"user_id": user["id"], "organization_id": org_b, "role_slug": "admin"}
    assert (
        admin.post("/user_management/organization_memberships", json=make_admin).status_code == 201
    )

    url = sdk.user_management.get_authorization_url(
        provider="authkit", redirect_uri=CALLBACK, state="opaque*state~1"
    )
    page = open_form(browser, url)
    assert (
        'autocomplete="current-password"' in page.text
        and 'autocomplete="username email"' in page.text
    )
    # Two organizations: the hosted flow asks which one.
    callback = callback_of(
        choose_organization(
            browser, submit_sign_in(browser, page, "ada@example.com", PASSWORD), org_a
        )
    )
    assert callback.state == "opaque*state~1" and callback.code

    auth = sdk.user_management.authenticate_with_code(code=callback.code)
    assert auth.user.id == user["id"] and auth.organization_id == org_a
    assert auth.authentication_method == "Password"
    claims = verify(env, auth.access_token)
    assert claims["sub"] == user["id"] and claims["sid"].startswith("session_")
    assert (
        claims["org_id"] == org_a and claims["role"] == "member" and claims["roles"] == ["member"]
    )
    assert claims["permissions"] == [] and claims["exp"] - claims["iat"] == 300
    assert isinstance(claims["auth_time"], int)

    cookie_password = Fernet.generate_key().decode()
    sealed = seal_session_from_auth_response(
        access_token=auth.access_token,
        refresh_token=auth.refresh_token,
        user=auth.user.to_dict(),
        cookie_password=cookie_password,
    )
    session = sdk.user_management.load_sealed_session(
        session_data=sealed, cookie_password=cookie_password
    )
    checked = session.authenticate()
    assert checked.authenticated is True, checked
    assert checked.session_id == claims["sid"] and checked.organization_id == org_a

    switched = session.refresh(organization_id=org_b)
    assert switched.authenticated is True, switched
    assert switched.organization_id == org_b and switched.role == "admin"
    new_claims = verify(env, sealed_access_token(switched.sealed_session, cookie_password))
    assert new_claims["sid"] == claims["sid"] and new_claims["org_id"] == org_b
    assert new_claims["auth_time"] == claims["auth_time"] and new_claims["jti"] != claims["jti"]

    # The current organization repeated is a no-op switch.
    again = sdk.user_management.load_sealed_session(
        session_data=switched.sealed_session, cookie_password=cookie_password
    ).refresh(organization_id=org_b)
    assert again.authenticated is True and again.organization_id == org_b

    listed = sdk.user_management.list_sessions(user["id"])
    assert [s.id for s in listed.data] == [claims["sid"]]

    logout_url = sdk.user_management.load_sealed_session(
        session_data=again.sealed_session, cookie_password=cookie_password
    ).get_logout_url(return_to=LOGOUT_RETURN)
    assert logout_url.startswith(
        f"{env.base_url}/user_management/sessions/logout?session_id={claims['sid']}"
    )
    signed_out = browser.get(logout_url)
    assert signed_out.status_code == 302 and signed_out.headers["location"] == LOGOUT_RETURN
    ended = sdk.user_management.load_sealed_session(
        session_data=again.sealed_session, cookie_password=cookie_password
    ).refresh()
    assert ended.authenticated is False
    assert sdk.user_management.list_sessions(user["id"]).data == []
    # The hosted sign-in ended too: the next authorize shows the form again.
    assert "/authkit/sign-in" in browser.get(url).headers["location"]


def test_public_client_with_pkce(
    env: TestEnvironment, admin: httpx.Client, browser: httpx.Client
) -> None:
    user = make_user(admin, "pkce@example.com")
    public = create_public_client(client_id=env.client_id, base_url=env.base_url)
    started = public.user_management.get_authorization_url_with_pkce(
        provider="authkit", redirect_uri=CALLBACK
    )
    callback = sign_in(browser, started["url"], "pkce@example.com")
    assert callback.state == started["state"]
    auth = public.user_management.authenticate_with_code_pkce(
        code=callback.code, code_verifier=started["code_verifier"]
    )
    assert auth.user.id == user["id"] and auth.organization_id is None
    claims = verify(env, auth.access_token)
    assert "org_id" not in claims and "role" not in claims
    refreshed = public.user_management.authenticate_with_refresh_token(
        refresh_token=auth.refresh_token
    )
    assert refreshed.refresh_token != auth.refresh_token
    assert verify(env, refreshed.access_token)["sid"] == claims["sid"]


def test_second_authorize_from_the_same_browser_needs_no_form(
    env: TestEnvironment, admin: httpx.Client, sdk: WorkOSClient, browser: httpx.Client
) -> None:
    make_user(admin, "again@example.com")
    first = sign_in(
        browser,
        sdk.user_management.get_authorization_url(provider="authkit", redirect_uri=CALLBACK),
        "again@example.com",
    )
    assert first.code
    second = callback_of(
        browser.get(
            sdk.user_management.get_authorization_url(
                provider="authkit", redirect_uri=CALLBACK, state="two"
            )
        )
    )
    assert second.code and second.code != first.code and second.state == "two"
    forced = browser.get(
        sdk.user_management.get_authorization_url(
            provider="authkit", redirect_uri=CALLBACK, prompt="login"
        )
    )
    assert "/authkit/sign-in" in forced.headers["location"]


def test_password_grant_with_organization_selection(
    env: TestEnvironment, admin: httpx.Client, sdk: WorkOSClient
) -> None:
    org_a = admin.post("/organizations", json={"name": "A"}).json()["id"]
    org_b = admin.post("/organizations", json={"name": "B"}).json()["id"]
    user = make_user(admin, "multi@example.com", (org_a, org_b))
    with pytest.raises(OrganizationSelectionRequiredError) as raised:
        sdk.user_management.authenticate_with_password(email="multi@example.com", password=PASSWORD)
    error = raised.value
    assert error.code == "organization_selection_required"
    assert {o["id"] for o in error.organizations} == {org_a, org_b}
    auth = sdk.user_management.authenticate_with_organization_selection(
        pending_authentication_token=error.pending_authentication_token, organization_id=org_b
    )
    assert auth.user.id == user["id"] and auth.organization_id == org_b
    assert verify(env, auth.access_token)["org_id"] == org_b
    with pytest.raises(BadRequestError):  # the pending token is single use
        sdk.user_management.authenticate_with_organization_selection(
            pending_authentication_token=error.pending_authentication_token, organization_id=org_b
        )


def test_revoked_session_cannot_refresh(
    env: TestEnvironment, admin: httpx.Client, sdk: WorkOSClient
) -> None:
    make_user(admin, "revoke@example.com")
    auth = sdk.user_management.authenticate_with_password(
        email="revoke@example.com", password=PASSWORD
    )
    sid = verify(env, auth.access_token)["sid"]
    sdk.user_management.revoke_session(session_id=sid)
    with pytest.raises(BadRequestError) as raised:
        sdk.user_management.authenticate_with_refresh_token(refresh_token=auth.refresh_token)
    assert raised.value.error == "invalid_grant"
