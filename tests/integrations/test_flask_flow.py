"""The Flask integration end to end: a real app under werkzeug, a live authkeep (SQLite and
PostgreSQL), and httpx as the browser through the hosted sign-in form. Sign-in, callback, the
session cookie, transparent refresh after a real expiry, organization switch (and its CSRF
check), sign-out, and what a refused refresh does."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from authkeep.integrations import unseal_data
from tests.integrations.apps import (
    COOKIE_PASSWORD,
    GrantCounter,
    session_payload,
    set_cookies,
    sign_in_through_app,
    token_claims,
    wait_until_expired,
)
from tests.integrations.flask_apps import FlaskSite
from tests.integrations.test_verifier import grant_permissions
from tests.signin.hosted import make_user


def sign_in(site: FlaskSite, browser: Any, email: str, return_to: str = "/me") -> Any:
    return sign_in_through_app(site, browser, email, return_to)  # type: ignore[arg-type]


@pytest.mark.flask_site(access_token_ttl=3)
def test_sign_in_refresh_switch_organization_and_sign_out(
    flask_site: FlaskSite, grants: GrantCounter, database_url: str
) -> None:
    site, env = flask_site, flask_site.env
    grant_permissions(database_url, env, "admin", ["posts:write"])
    org_a = site.admin.post("/organizations", json={"name": "Alpha"}).json()["id"]
    org_b = site.admin.post("/organizations", json={"name": "Beta"}).json()["id"]
    user = make_user(site.admin, "ada@example.com", (org_a,))

    with site.browser() as browser:
        # A page that needs a user sends the browser to sign in, remembering where it was.
        page = browser.get(f"{site.app_url}/me?tab=1%202", headers={"Accept": "text/html"})
        assert page.status_code == 302
        authorize = urlsplit(page.headers["location"])
        query = parse_qs(authorize.query)
        assert authorize.path == "/user_management/authorize"
        assert query["client_id"] == [env.client_id] and query["code_challenge_method"] == ["S256"]
        state = unseal_data(query["state"][0], COOKIE_PASSWORD)
        assert state["returnPathname"] == "/me?tab=1%202"
        [(name, verifier)] = set_cookies(page).items()
        assert name.startswith("wos-auth-verifier-") and verifier["path"] == "/auth/callback"

        callback = sign_in(site, browser, "ada@example.com", return_to="/me?tab=1")
        assert callback.status_code == 302 and callback.headers["location"] == "/me?tab=1"
        cookies = set_cookies(callback)
        session_cookie = cookies["wos-session"]
        assert session_cookie["path"] == "/" and session_cookie["max-age"] == "34560000"
        assert "httponly" in session_cookie and session_cookie["samesite"] == "Lax"
        verifier_cleared = [c for n, c in cookies.items() if n.startswith("wos-auth-verifier-")]
        assert [c["max-age"] for c in verifier_cleared] == ["0"]
        sealed = session_cookie["value"]
        payload = session_payload(sealed)
        assert payload["user"]["id"] == user["id"] and payload["user"]["firstName"] == "Ada"
        first = token_claims(payload["accessToken"])
        assert first["org_id"] == org_a

        page = browser.get(f"{site.app_url}/me?tab=1")
        assert page.status_code == 200 and "ada@example.com" in page.text
        assert "set-cookie" not in page.headers
        me = browser.get(f"{site.app_url}/api/me").json()
        assert me["organization_id"] == org_a and me["role"] == "member"
        assert grants.count(env.client_id) == 0

        # The access token expires: the next request refreshes it and rewrites the cookie.
        wait_until_expired(sealed)
        refreshed = browser.get(f"{site.app_url}/api/me")
        assert refreshed.status_code == 200, refreshed.text
        assert refreshed.json()["session_id"] == first["sid"]
        assert refreshed.json()["jti"] != first["jti"]
        rewritten = set_cookies(refreshed)["wos-session"]
        assert rewritten["value"] != sealed and rewritten["max-age"] == "34560000"
        assert session_payload(rewritten["value"])["refreshToken"] != payload["refreshToken"]
        assert grants.count(env.client_id) == 1
        assert browser.get(f"{site.app_url}/api/me").json()["jti"] == refreshed.json()["jti"]
        assert grants.count(env.client_id) == 1

        # Only admins in the current organization may post.
        denied = browser.post(f"{site.app_url}/api/posts")
        assert denied.status_code == 403
        assert denied.json() == {
            "code": "forbidden",
            "message": "this needs the permission 'posts:write'",
        }
        assert browser.get(f"{site.app_url}/admin").status_code == 403

        membership = {"user_id": user["id"], "organization_id": org_b, "role_slug": "admin"}
        assert site.admin.post("/user_management/organization_memberships", json=membership)
        switch = f"{site.app_url}/auth/switch-organization"
        form = {"organization_id": org_b, "return_to": "/me"}
        # Another site's form, or a form with no origin at all, cannot switch.
        for headers in ({"Origin": "http://evil.example"}, {}, {"Referer": "http://evil.example/"}):
            refused = browser.post(switch, data=form, headers=headers)
            assert refused.status_code == 403, headers
            assert "wos-session" not in set_cookies(refused)
        switched = browser.post(switch, data=form, headers={"Origin": site.app_url})
        assert switched.status_code == 303 and switched.headers["location"] == "/me"
        claims = token_claims(
            session_payload(set_cookies(switched)["wos-session"]["value"])["accessToken"]
        )
        assert claims["org_id"] == org_b and claims["role"] == "admin"
        assert claims["sid"] == first["sid"] and claims["permissions"] == ["posts:write"]
        me = browser.get(f"{site.app_url}/api/me").json()
        assert me["organization_id"] == org_b and me["permissions"] == ["posts:write"]
        assert browser.post(f"{site.app_url}/api/posts").json() == {"created_by": user["id"]}
        assert browser.get(f"{site.app_url}/admin").status_code == 200

        # Not a member: the server's refusal is passed on (JSON needs no origin), the session stays.
        org_c = site.admin.post("/organizations", json={"name": "Gamma"}).json()["id"]
        refused = browser.post(
            switch, json={"organization_id": org_c}, headers={"Accept": "application/json"}
        )
        assert refused.status_code == 400
        assert refused.json()["code"] == "organization_membership_not_found"
        assert browser.get(f"{site.app_url}/api/me").json()["organization_id"] == org_b

        # Sign out: cookie cleared, then the server's logout ends the session.
        signed_out = browser.get(f"{site.app_url}/auth/logout", params={"return_to": "/signed-out"})
        assert signed_out.status_code == 302
        logout = urlsplit(signed_out.headers["location"])
        assert f"{logout.scheme}://{logout.netloc}" == env.base_url
        assert parse_qs(logout.query) == {
            "session_id": [first["sid"]],
            "return_to": [f"{site.app_url}/signed-out"],
        }
        cleared = set_cookies(signed_out)["wos-session"]
        assert cleared["value"] == "" and cleared["max-age"] == "0"
        ended = browser.get(signed_out.headers["location"])
        assert ended.headers["location"] == f"{site.app_url}/signed-out"
        sessions = site.admin.get(f"/user_management/users/{user['id']}/sessions").json()
        assert sessions["data"] == []
        assert browser.get(f"{site.app_url}/api/me").status_code == 401


@pytest.mark.flask_site(access_token_ttl=2)
def test_a_refused_refresh_clears_the_session(flask_site: FlaskSite, grants: GrantCounter) -> None:
    site = flask_site
    user = make_user(site.admin, "revoked@example.com")
    with site.browser() as browser:
        sealed = set_cookies(sign_in(site, browser, "revoked@example.com"))["wos-session"]["value"]
        sid = token_claims(session_payload(sealed)["accessToken"])["sid"]
        assert browser.get(f"{site.app_url}/api/me").json()["user_id"] == user["id"]
        revoke = site.admin.post("/user_management/sessions/revoke", json={"session_id": sid})
        assert revoke.status_code == 200
        wait_until_expired(sealed)
        gone = browser.get(f"{site.app_url}/api/me")
        assert gone.status_code == 401 and gone.json()["code"] == "refresh_failed"
        assert gone.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
        assert set_cookies(gone)["wos-session"]["max-age"] == "0"
        assert grants.count(site.env.client_id) == 1
        page = browser.get(f"{site.app_url}/me", headers={"Accept": "text/html"})
        assert page.status_code == 302
        assert "/user_management/authorize?" in page.headers["location"]
        assert grants.count(site.env.client_id) == 1
