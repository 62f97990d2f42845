"""The Django integration end to end: a real Django app under a threaded WSGI server, a live
authkeep (SQLite and PostgreSQL), and httpx as the browser through the hosted sign-in form.
Sign-in, callback, `request.user`, transparent refresh after a real expiry, organization switch
(CSRF-protected), sign-out, and what a refused refresh does."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from authkeep.integrations import unseal_data
from tests.integrations.apps import (
    COOKIE_PASSWORD,
    GrantCounter,
    Site,
    session_payload,
    set_cookies,
    sign_in_through_app,
    token_claims,
    wait_until_expired,
)
from tests.integrations.django_app import django_site
from tests.integrations.test_verifier import grant_permissions
from tests.signin.hosted import make_user
from tests.support import set_access_token_ttl

__all__ = ["django_site"]


def test_sign_in_refresh_switch_organization_and_sign_out(
    django_site: Site, grants: GrantCounter, database_url: str
) -> None:
    site = django_site
    env = site.env
    set_access_token_ttl(database_url, env.environment_id, 3)
    grant_permissions(database_url, env, "admin", ["posts:write"])
    org_a = site.admin.post("/organizations", json={"name": "Alpha"}).json()["id"]
    org_b = site.admin.post("/organizations", json={"name": "Beta"}).json()["id"]
    user = make_user(site.admin, "ada@example.com", (org_a,))

    with site.browser() as browser:
        # A page that needs a user sends the browser to sign in, remembering where it was.
        page = browser.get(f"{site.app_url}/me?tab=1", headers={"Accept": "text/html"})
        assert page.status_code == 302
        authorize = urlsplit(page.headers["location"])
        assert authorize.path == "/user_management/authorize"
        state = unseal_data(parse_qs(authorize.query)["state"][0], COOKIE_PASSWORD)
        assert state["returnPathname"] == "/me?tab=1"
        [(name, verifier)] = set_cookies(page).items()
        assert name.startswith("wos-auth-verifier-") and verifier["path"] == "/auth/callback"
        assert "httponly" in verifier and verifier["samesite"] == "Lax"

        callback = sign_in_through_app(site, browser, "ada@example.com", return_to="/me?tab=1")
        assert callback.status_code == 302 and callback.headers["location"] == "/me?tab=1"
        cookies = set_cookies(callback)
        session_cookie = cookies["wos-session"]
        assert session_cookie["path"] == "/" and session_cookie["max-age"] == "34560000"
        assert "httponly" in session_cookie and session_cookie["samesite"] == "Lax"
        assert "secure" not in session_cookie and "domain" not in session_cookie
        verifier_cleared = [c for n, c in cookies.items() if n.startswith("wos-auth-verifier-")]
        assert [c["max-age"] for c in verifier_cleared] == ["0"]
        sealed = session_cookie["value"]
        payload = session_payload(sealed)  # authkit-nextjs's shape, camelCase user
        assert payload["user"]["id"] == user["id"] and payload["user"]["firstName"] == "Ada"
        first = token_claims(payload["accessToken"])
        assert first["org_id"] == org_a

        # request.user is the signed-in user, without any database.
        page = browser.get(f"{site.app_url}/me?tab=1")
        assert page.status_code == 200 and f"Hello ada@example.com in {org_a}" in page.text
        assert "set-cookie" not in page.headers
        me = browser.get(f"{site.app_url}/api/me").json()
        assert me["user_id"] == user["id"] and me["email"] == "ada@example.com"
        assert me["organization_id"] == org_a and me["role"] == "member"
        assert me["name"] == " ".join(filter(None, [user["first_name"], user["last_name"]]))
        assert browser.get(f"{site.app_url}/").json() == {"signed_in": True}
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

        # Only admins of the current organization may see reports.
        assert browser.get(f"{site.app_url}/reports").status_code == 403
        assert browser.get(f"{site.app_url}/admin").status_code == 403
        assert browser.get(f"{site.app_url}/drafts").status_code == 403

        # Switching organization is a POST that Django's CSRF middleware guards.
        membership = {"user_id": user["id"], "organization_id": org_b, "role_slug": "admin"}
        assert site.admin.post("/user_management/organization_memberships", json=membership)
        switch = f"{site.app_url}/auth/switch-organization"
        forged = browser.post(switch, data={"organization_id": org_b})
        assert forged.status_code == 403 and "CSRF" in forged.text
        token = browser.get(f"{site.app_url}/csrf").json()["token"]
        switched = browser.post(
            switch,
            data={"organization_id": org_b, "return_to": "/me", "csrfmiddlewaretoken": token},
        )
        assert switched.status_code == 303 and switched.headers["location"] == "/me"
        claims = token_claims(
            session_payload(set_cookies(switched)["wos-session"]["value"])["accessToken"]
        )
        assert claims["org_id"] == org_b and claims["role"] == "admin"
        assert claims["sid"] == first["sid"] and claims["permissions"] == ["posts:write"]
        me = browser.get(f"{site.app_url}/api/me").json()
        assert me["organization_id"] == org_b and me["permissions"] == ["posts:write"]
        assert browser.get(f"{site.app_url}/reports").status_code == 200
        assert browser.get(f"{site.app_url}/admin").status_code == 200
        assert browser.get(f"{site.app_url}/drafts").json() == {"drafts": []}

        # Not a member: the server's refusal is passed on, the session stays.
        org_c = site.admin.post("/organizations", json={"name": "Gamma"}).json()["id"]
        refused = browser.post(
            switch,
            json={"organization_id": org_c},
            headers={"Accept": "application/json", "X-CSRFToken": token},
        )
        assert refused.status_code == 400
        assert refused.json()["code"] == "organization_membership_not_found"
        assert browser.get(f"{site.app_url}/api/me").json()["organization_id"] == org_b

        # Sign out: cookie cleared, then the server's logout ends the session.
        signed_out = browser.get(f"{site.app_url}/auth/logout", params={"return_to": "/signed-out"})
        assert signed_out.status_code == 302
        logout = urlsplit(signed_out.headers["location"])
        assert logout.path == "/user_management/sessions/logout"
        assert parse_qs(logout.query) == {
            "session_id": [first["sid"]],
            "return_to": [f"{site.app_url}/signed-out"],
        }
        assert set_cookies(signed_out)["wos-session"]["max-age"] == "0"
        assert "wos-session" not in browser.cookies
        ended = browser.get(signed_out.headers["location"])
        assert ended.headers["location"] == f"{site.app_url}/signed-out"
        sessions = site.admin.get(f"/user_management/users/{user['id']}/sessions").json()
        assert sessions["data"] == []
        assert browser.get(f"{site.app_url}/api/me").status_code == 401


def test_a_refused_refresh_clears_the_session(
    django_site: Site, grants: GrantCounter, database_url: str
) -> None:
    site = django_site
    set_access_token_ttl(database_url, site.env.environment_id, 2)
    user = make_user(site.admin, "revoked@example.com")
    with site.browser() as browser:
        callback = sign_in_through_app(site, browser, "revoked@example.com")
        sealed = set_cookies(callback)["wos-session"]["value"]
        sid = token_claims(session_payload(sealed)["accessToken"])["sid"]
        assert browser.get(f"{site.app_url}/api/me").json()["user_id"] == user["id"]
        revoke = site.admin.post("/user_management/sessions/revoke", json={"session_id": sid})
        assert revoke.status_code == 200
        wait_until_expired(sealed)
        gone = browser.get(f"{site.app_url}/api/me")
        assert gone.status_code == 401
        assert gone.json()["code"] == "refresh_failed"
        assert gone.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
        assert set_cookies(gone)["wos-session"]["max-age"] == "0"
        assert grants.count(site.env.client_id) == 1
        page = browser.get(f"{site.app_url}/me", headers={"Accept": "text/html"})
        assert page.status_code == 302
        assert "/user_management/authorize?" in page.headers["location"]
        assert grants.count(site.env.client_id) == 1


@pytest.mark.parametrize("path", ["/me", "/reports"])
def test_pages_redirect_to_sign_in_and_apis_get_401(django_site: Site, path: str) -> None:
    site = django_site
    with site.browser() as browser:
        page = browser.get(f"{site.app_url}{path}", headers={"Accept": "text/html"})
        assert page.status_code == 302
        assert page.headers["location"].startswith(f"{site.env.base_url}/user_management/")
        api = browser.get(f"{site.app_url}{path}", headers={"Accept": "application/json"})
        assert api.status_code == 401
        assert api.json() == {
            "code": "no_session_cookie",
            "message": "sign in first: this request has no session",
        }
        assert api.headers["www-authenticate"] == (
            'Bearer error="invalid_token", '
            'error_description="sign in first: this request has no session"'
        )
