"""The Django integration's user-model mode end to end: `AuthKitBackend` and Django's own login
following the authkeep session cookie, in a real Django app (SQLite for its tables, `migrate`
run) against a live authkeep (SQLite and PostgreSQL), httpx as the browser. And the
database-free mode, which must not open that database at all."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from django.db.backends.signals import connection_created

from tests.integrations.apps import (
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

USER_MODEL = pytest.mark.site(user_model=True)


def local_users() -> list[tuple[str, str, str, str, str]]:
    """(authkeep user ID, username, e-mail, first name, last name) of each local user."""
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.select_related("authkit_identity").order_by("pk")
    return [
        (u.authkit_identity.authkeep_user_id, u.username, u.email, u.first_name, u.last_name)
        for u in users
    ]


def django_sessions() -> set[str]:
    from django.contrib.sessions.models import Session

    return set(Session.objects.values_list("session_key", flat=True))


def account(site: Site, browser: httpx.Client) -> dict[str, Any]:
    page = browser.get(f"{site.app_url}/account", headers={"Accept": "application/json"})
    assert page.status_code == 200, page.text
    return page.json()


@USER_MODEL
def test_sign_ins_create_reuse_and_update_the_local_user_and_sign_out_logs_out(
    django_site: Site, database_url: str
) -> None:
    site = django_site
    grant_permissions(database_url, site.env, "admin", ["posts:write"])
    org = site.admin.post("/organizations", json={"name": "Alpha"}).json()["id"]
    user = make_user(site.admin, "ada@example.com", (org,), role="admin")
    with site.browser() as browser:
        page = browser.get(f"{site.app_url}/account", headers={"Accept": "text/html"})
        assert page.status_code == 302 and "/user_management/authorize?" in page.headers["location"]
        assert local_users() == []

        # First sign-in: a local user is made, linked, and logged in to Django's session.
        callback = sign_in_through_app(site, browser, "ada@example.com", return_to="/account")
        assert callback.status_code == 302 and callback.headers["location"] == "/account"
        django_key = set_cookies(callback)["sessionid"]["value"]
        assert local_users() == [(user["id"], "ada@example.com", "ada@example.com", "Ada", "")]
        me = account(site, browser)
        assert me["model"] == "auth.User" and me["authkeep_user_id"] == user["id"]
        assert me["username"] == "ada@example.com" and me["usable_password"] is False
        assert me["django_session"] == django_key and django_sessions() == {django_key}
        assert me["is_staff"] is True and me["groups"] == ["role:admin"]  # update_user
        pk = me["pk"]
        assert "set-cookie" not in browser.get(f"{site.app_url}/account").headers

        # DRF: request.user is the model instance, permissions still judged from the token.
        drf = browser.get(f"{site.app_url}/api/account").json()
        assert drf == {"model": "auth.User", "pk": pk, "auth": "AuthSession"}
        assert browser.get(f"{site.app_url}/").json() == {"signed_in": True}

        # Sign-out ends the Django login too.
        signed_out = browser.get(f"{site.app_url}/auth/logout")
        assert signed_out.status_code == 302
        assert set_cookies(signed_out)["sessionid"]["max-age"] == "0"
        assert django_sessions() == set()
        browser.get(signed_out.headers["location"])  # the hosted session ends as well
        assert browser.get(f"{site.app_url}/").json() == {"signed_in": False}
        assert browser.get(f"{site.app_url}/api/account").status_code == 401

        # The name and e-mail change at authkeep: the next sign-in copies them, same row.
        changed = {"first_name": "Augusta", "last_name": "King", "email": "augusta@example.com"}
        assert site.admin.put(f"/user_management/users/{user['id']}", json=changed).is_success
        sign_in_through_app(site, browser, "augusta@example.com", return_to="/account")
        me = account(site, browser)
        assert me["pk"] == pk and me["email"] == "augusta@example.com"
        assert (me["first_name"], me["last_name"]) == ("Augusta", "King")
        assert local_users() == [
            (user["id"], "ada@example.com", "augusta@example.com", "Augusta", "King")
        ]


@USER_MODEL
def test_a_refused_refresh_logs_out_of_django(
    django_site: Site, grants: GrantCounter, database_url: str
) -> None:
    site = django_site
    set_access_token_ttl(database_url, site.env.environment_id, 2)
    user = make_user(site.admin, "revoked@example.com")
    with site.browser() as browser:
        callback = sign_in_through_app(site, browser, "revoked@example.com")
        sealed = set_cookies(callback)["wos-session"]["value"]
        sid = token_claims(session_payload(sealed)["accessToken"])["sid"]
        me = account(site, browser)
        assert me["authkeep_user_id"] == user["id"] and me["groups"] == []
        assert django_sessions() == {me["django_session"]}
        revoke = site.admin.post("/user_management/sessions/revoke", json={"session_id": sid})
        assert revoke.status_code == 200
        wait_until_expired(sealed)
        gone = browser.get(f"{site.app_url}/account", headers={"Accept": "application/json"})
        assert gone.status_code == 401 and gone.json()["code"] == "refresh_failed"
        cookies = set_cookies(gone)
        assert cookies["wos-session"]["max-age"] == "0" and cookies["sessionid"]["max-age"] == "0"
        assert django_sessions() == set()
        assert browser.get(f"{site.app_url}/").json() == {"signed_in": False}
        assert grants.count(site.env.client_id) == 1
        assert len(local_users()) == 1  # the local user stays, only the login ends


@USER_MODEL
def test_a_django_session_of_another_authkeep_user_is_not_used(django_site: Site) -> None:
    site = django_site
    ada = make_user(site.admin, "ada@example.com")
    bob = make_user(site.admin, "bob@example.com")
    with site.browser() as ada_browser, site.browser() as bob_browser:
        sign_in_through_app(site, ada_browser, "ada@example.com")
        ada_key = account(site, ada_browser)["django_session"]
        callback = sign_in_through_app(site, bob_browser, "bob@example.com")
        bob_cookie = set_cookies(callback)["wos-session"]["value"]
        # Bob's authkeep session arrives with Ada's Django session cookie.
        mixed = httpx.get(
            f"{site.app_url}/account",
            headers={"Cookie": f"wos-session={bob_cookie}; sessionid={ada_key}"},
        )
        me = mixed.json()
        assert me["authkeep_user_id"] == bob["id"] and me["django_session"] != ada_key
        assert ada_key not in django_sessions()  # Django's login() flushed it
        assert [row[0] for row in local_users()] == [ada["id"], bob["id"]]


@USER_MODEL
def test_an_inactive_local_user_is_refused(django_site: Site) -> None:
    from django.contrib.auth import get_user_model

    site = django_site
    make_user(site.admin, "gone@example.com")
    with site.browser() as browser:
        sign_in_through_app(site, browser, "gone@example.com")
        account(site, browser)
        get_user_model().objects.update(is_active=False)
        page = browser.get(f"{site.app_url}/account", headers={"Accept": "application/json"})
        assert page.status_code == 403 and page.json()["code"] == "forbidden"
        assert browser.get(f"{site.app_url}/").json() == {"signed_in": False}
        assert browser.get(f"{site.app_url}/api/account").status_code == 403


def test_the_database_free_mode_opens_no_database(django_site: Site) -> None:
    site = django_site
    user = make_user(site.admin, "nodb@example.com")
    opened: list[str] = []

    def count(sender: Any, connection: Any, **kwargs: Any) -> None:
        opened.append(connection.alias)

    connection_created.connect(count)
    try:
        with site.browser() as browser:
            callback = sign_in_through_app(site, browser, "nodb@example.com")
            assert "sessionid" not in set_cookies(callback)
            assert browser.get(f"{site.app_url}/api/me").json()["user_id"] == user["id"]
            assert browser.get(f"{site.app_url}/api/bearer").json()["user_id"] == user["id"]
            browser.get(f"{site.app_url}/auth/logout")
            assert browser.get(f"{site.app_url}/").json() == {"signed_in": False}
    finally:
        connection_created.disconnect(count)
    assert opened == []
