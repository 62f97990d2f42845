"""The Flask integration's refusals against a live authkeep: return paths that leave the site,
altered or foreign sign-in state, pages vs APIs without a session, bearer tokens that are
missing, expired, forged or another client's, API keys, and missing permissions and roles."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from authkeep.crypto import jwt as authkeep_jwt
from authkeep.integrations import ApiKey, seal_data, unseal_data
from tests.integrations.apps import COOKIE_PASSWORD, set_cookies, sign_in_through_app, token_claims
from tests.integrations.flask_apps import FlaskSite
from tests.integrations.test_starlette_security import OPEN_REDIRECTS, token_claims_header
from tests.integrations.test_verifier import grant_permissions, password_token, signing_key
from tests.signin.hosted import make_user
from tests.support import LiveServer, make_environment


def sign_in(site: FlaskSite, browser: httpx.Client, email: str, return_to: str = "/me") -> Any:
    return sign_in_through_app(site, browser, email, return_to)  # type: ignore[arg-type]


def bearer(site: FlaskSite, token: str | None, path: str = "/api/bearer") -> httpx.Response:
    headers = {"Authorization": token} if token is not None else {}
    return httpx.get(f"{site.app_url}{path}", headers=headers)


def refusal(response: httpx.Response) -> tuple[int, str, str]:
    return response.status_code, response.json()["code"], response.headers["www-authenticate"]


def test_return_paths_off_the_site_become_the_root(flask_site: FlaskSite) -> None:
    site = flask_site
    make_user(site.admin, "redirects@example.com")
    with site.browser() as browser:
        landed = sign_in(site, browser, "redirects@example.com", "/reports?y=2024")
        assert landed.headers["location"] == "/reports?y=2024"
        for target in OPEN_REDIRECTS:
            response = sign_in(site, browser, "redirects@example.com", target)
            assert response.status_code == 302
            assert response.headers["location"] == "/", target
        switched = browser.post(
            f"{site.app_url}/auth/switch-organization",
            data={"organization_id": "org_none", "return_to": "//evil.example"},
            headers={"Origin": site.app_url},
        )
        assert switched.status_code == 400  # not a member, and never a redirect off the site


def test_altered_or_foreign_state_is_refused(flask_site: FlaskSite) -> None:
    site = flask_site
    make_user(site.admin, "state@example.com")
    with site.browser() as browser:
        sign_in(site, browser, "state@example.com")
        callback_url = f"{site.app_url}/auth/callback"

        def start() -> tuple[str, str]:
            login = browser.get(f"{site.app_url}/auth/login", params={"return_to": "/me"})
            back = browser.get(login.headers["location"])
            query = parse_qs(urlsplit(back.headers["location"]).query)
            return query["code"][0], query["state"][0]

        def refused(params: dict[str, str], code: str, client: httpx.Client = browser) -> None:
            response = client.get(
                f"{callback_url}?{urlencode(params)}", headers={"Accept": "application/json"}
            )
            assert response.status_code == 400, response.text
            assert response.json()["code"] == code, response.json()
            assert "wos-session" not in set_cookies(response)

        code, state = start()
        body, _, suffix = state.rpartition("~")
        altered = body[:-1] + ("A" if body[-1] != "A" else "B") + "~" + suffix
        refused({"code": code, "state": altered}, "invalid_state")
        foreign = seal_data(
            unseal_data(state, COOKIE_PASSWORD), "another-app-cookie-password-0123456789", ttl=600
        )
        refused({"code": code, "state": foreign}, "invalid_state")
        with httpx.Client() as other_browser:
            refused({"code": code, "state": state}, "state_mismatch", other_browser)
        ok = browser.get(f"{callback_url}?{urlencode({'code': code, 'state': state})}")
        assert ok.status_code == 302 and ok.headers["location"] == "/me"
        refused({"code": code, "state": state}, "state_mismatch")
        page = browser.get(f"{callback_url}?error=access_denied")
        assert page.status_code == 400 and "text/html" in page.headers["content-type"]


def test_pages_redirect_to_sign_in_and_apis_get_401(flask_site: FlaskSite) -> None:
    site = flask_site
    with httpx.Client() as browser:
        page = browser.get(f"{site.app_url}/me", headers={"Accept": "text/html"})
        assert page.status_code == 302
        assert page.headers["location"].startswith(
            f"{site.env.base_url}/user_management/authorize?"
        )
        for path, headers in [("/api/me", {}), ("/me", {"Accept": "application/json"})]:
            response = browser.get(f"{site.app_url}{path}", headers=headers)
            assert response.status_code == 401
            assert response.json() == {
                "code": "no_session_cookie",
                "message": "sign in first: this request has no session",
            }
            assert response.headers["www-authenticate"] == (
                'Bearer error="invalid_token", '
                'error_description="sign in first: this request has no session"'
            )
        browser.cookies.set("wos-session", seal_data({"accessToken": "x"}, "y" * 40))
        stale = browser.get(f"{site.app_url}/api/me")
        assert stale.status_code == 401 and stale.json()["code"] == "invalid_session_cookie"
        assert set_cookies(stale)["wos-session"]["max-age"] == "0"
        assert browser.get(f"{site.app_url}/").json() == {"signed_in": False}


def test_bearer_tokens(
    flask_site: FlaskSite, counted_server: LiveServer, database_url: str
) -> None:
    site = flask_site
    user = make_user(site.admin, "api@example.com")
    token = password_token(site.env, "api@example.com")
    ok = bearer(site, f"Bearer {token}")
    assert ok.status_code == 200 and ok.json() == {"user_id": user["id"], "organization_id": None}

    status, code, challenge = refusal(bearer(site, None))
    assert (status, code) == (401, "authentication_required")
    assert challenge == (
        'Bearer error="invalid_token", '
        'error_description="no access token: send Authorization: Bearer <token>"'
    )
    status, code, challenge = refusal(bearer(site, f"Basic {token}"))
    assert (status, code) == (401, "authentication_required") and "must be Bearer" in challenge
    status, code, challenge = refusal(bearer(site, "Bearer two words"))
    assert (status, code) == (400, "invalid_request")

    claims, kid = token_claims(token), token_claims_header(token)["kid"]
    now = int(time.time())
    expired = authkeep_jwt.encode(
        {**claims, "iat": now - 600, "exp": now - 300}, signing_key(database_url, kid), kid
    )
    status, code, challenge = refusal(bearer(site, f"Bearer {expired}"))
    assert (status, code) == (401, "token_expired") and "expired at" in challenge

    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = authkeep_jwt.encode({**claims, "sub": "user_someone_else"}, forger, kid)
    status, code, challenge = refusal(bearer(site, f"Bearer {forged}"))
    assert (status, code) == (401, "token_signature_invalid")

    other = make_environment(database_url, counted_server.base_url)
    with httpx.Client(
        base_url=other.base_url, headers={"Authorization": f"Bearer {other.api_key}"}
    ) as other_admin:
        make_user(other_admin, "api@example.com")
    status, code, challenge = refusal(
        bearer(site, f"Bearer {password_token(other, 'api@example.com')}")
    )
    assert (status, code) == (401, "wrong_client") and site.env.client_id in challenge

    status, code, _ = refusal(bearer(site, "Bearer sk_test_abc"))
    assert (status, code) == (401, "api_keys_not_accepted")


def _lookup(value: str) -> ApiKey | None:
    if value != "sk_live_good":
        return None
    return ApiKey(
        id="api_key_01",
        name="CI",
        organization_id="org_01",
        permissions=("posts:write",),
        owner={"type": "organization", "id": "org_01"},
    )


@pytest.mark.flask_site(api_key_validator=_lookup)
def test_api_keys_checked_by_a_validator_of_the_app(flask_site: FlaskSite) -> None:
    site = flask_site
    assert bearer(site, "Bearer sk_live_good").json() == {
        "api_key": "api_key_01",
        "organization_id": "org_01",
    }
    posted = httpx.post(
        f"{site.app_url}/api/posts", headers={"Authorization": "Bearer sk_live_good"}
    )
    assert posted.status_code == 200 and posted.json() == {"created_by": None}
    status, code, _ = refusal(bearer(site, "Bearer sk_live_bad"))
    assert (status, code) == (401, "invalid_api_key")


def test_missing_permission_or_role_is_403(flask_site: FlaskSite, database_url: str) -> None:
    site = flask_site
    grant_permissions(database_url, site.env, "admin", ["posts:write"])
    org = site.admin.post("/organizations", json={"name": "Acme"}).json()["id"]
    make_user(site.admin, "member@example.com", (org,))
    admin_user = make_user(site.admin, "boss@example.com", (org,), role="admin")
    member_token = password_token(site.env, "member@example.com")
    admin_token = password_token(site.env, "boss@example.com")

    posts = f"{site.app_url}/api/posts"
    denied = httpx.post(posts, headers={"Authorization": f"Bearer {member_token}"})
    assert denied.status_code == 403
    assert denied.json() == {
        "code": "forbidden",
        "message": "this needs the permission 'posts:write'",
    }
    assert denied.headers["www-authenticate"] == (
        'Bearer error="insufficient_scope", '
        "error_description=\"this needs the permission 'posts:write'\""
    )
    allowed = httpx.post(posts, headers={"Authorization": f"Bearer {admin_token}"})
    assert allowed.status_code == 200 and allowed.json() == {"created_by": admin_user["id"]}

    role_denied = bearer(site, f"Bearer {member_token}", "/admin")
    assert role_denied.status_code == 403 and role_denied.json()["code"] == "forbidden"
    assert bearer(site, f"Bearer {admin_token}", "/admin").status_code == 200
    with site.browser() as browser:
        sign_in(site, browser, "member@example.com")
        page = browser.get(f"{site.app_url}/admin", headers={"Accept": "text/html"})
        assert page.status_code == 403 and "text/html" in page.headers["content-type"]
        assert "this needs the role &#x27;admin&#x27;" in page.text
