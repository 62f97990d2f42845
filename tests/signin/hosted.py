"""Drive the hosted pages over real HTTP the way a browser without JavaScript does."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
from workos import WorkOSClient
from workos.session import unseal_data

from tests.support import TestEnvironment, make_environment

CALLBACK = "http://localhost:3000/callback"
LOGOUT_RETURN = "http://localhost:3000/signed-out"
PASSWORD = "correct horse battery staple"


def field(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no {name} field in the page"
    return match.group(1)


@dataclass
class Callback:
    code: str | None
    state: str | None
    error: str | None
    url: str


def callback_of(response: httpx.Response) -> Callback:
    assert response.status_code == 302, response.text[:500]
    location = response.headers["location"]
    query = parse_qs(urlsplit(location).query)
    return Callback(
        (query.get("code") or [None])[0],
        (query.get("state") or [None])[0],
        (query.get("error") or [None])[0],
        location,
    )


def open_form(browser: httpx.Client, authorization_url: str) -> httpx.Response:
    """Follow authorize to the hosted page it sends the browser to."""
    response = browser.get(authorization_url)
    assert response.status_code == 302, response.text[:500]
    page = browser.get(response.headers["location"])
    assert page.status_code == 200, page.text[:500]
    return page


def submit_sign_in(
    browser: httpx.Client, page: httpx.Response, email: str, password: str
) -> httpx.Response:
    return browser.post(
        "/authkit/sign-in",
        data={
            "request": field(page.text, "request"),
            "csrf_token": field(page.text, "csrf_token"),
            "email": email,
            "password": password,
        },
    )


def choose_organization(
    browser: httpx.Client, response: httpx.Response, organization_id: str
) -> httpx.Response:
    assert (
        response.status_code == 302 and "/authkit/organization" in response.headers["location"]
    ), response.text[:300]
    page = browser.get(response.headers["location"])
    assert page.status_code == 200
    return browser.post(
        "/authkit/organization",
        data={
            "request": field(page.text, "request"),
            "csrf_token": field(page.text, "csrf_token"),
            "organization_id": organization_id,
        },
    )


def sign_in(
    browser: httpx.Client, authorization_url: str, email: str, password: str = PASSWORD
) -> Callback:
    page = open_form(browser, authorization_url)
    return callback_of(submit_sign_in(browser, page, email, password))


def code_for(sdk: WorkOSClient, browser: httpx.Client, email: str, **params: Any) -> str:
    """An authorization code for `email`, signed in on the hosted pages."""
    callback = sign_in(
        browser,
        sdk.user_management.get_authorization_url(
            provider="authkit", redirect_uri=CALLBACK, **params
        ),
        email,
    )
    assert callback.code
    return callback.code


def signin_environment(
    database_url: str, base_url: str, kind: str = "development", **settings: Any
) -> TestEnvironment:
    return make_environment(
        database_url,
        base_url,
        kind=kind,
        redirect_uris=(CALLBACK,),
        logout_uris=(LOGOUT_RETURN,),
        settings=settings,
    )


def make_user(
    admin: httpx.Client, email: str, organizations: tuple[str, ...] = (), role: str | None = None
) -> dict[str, Any]:
    user = admin.post(
        "/user_management/users", json={"email": email, "password": PASSWORD, "first_name": "Ada"}
    ).json()
    for organization in organizations:
        body = {"user_id": user["id"], "organization_id": organization}
        if role:
            body["role_slug"] = role
        assert admin.post("/user_management/organization_memberships", json=body).status_code == 201
    return user


def verify(env: TestEnvironment, token: str) -> dict[str, Any]:
    """Verify like a backend would: PyJWT against the JWKS, issuer pinned."""
    key = jwt.PyJWKClient(f"{env.base_url}/sso/jwks/{env.client_id}").get_signing_key_from_jwt(
        token
    )
    return jwt.decode(
        token,
        key.key,
        algorithms=["RS256"],
        options={"verify_aud": False, "require": ["exp", "iat", "sub", "sid"]},
        issuer=f"{env.base_url}/user_management/{env.client_id}",
    )


def sealed_access_token(sealed: str, cookie_password: str) -> str:
    return unseal_data(sealed, cookie_password)["access_token"]
