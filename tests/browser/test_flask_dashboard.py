"""The Flask example (examples/flask-dashboard) in Debian's Chromium against a live server:
the sign-in button opens the hosted sign-in screen, the callback lands on the page that asked,
an expired access token is refreshed transparently (the cookie rewritten), switching to an
organization where the person is an admin widens what they see, and sign-out returns to the app.
A member of the same organization sees only their own projects."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

import httpx
from flask import Flask

from tests.browser.conftest import browser_environment
from tests.integrations.apps import COOKIE_PASSWORD, wait_until_expired
from tests.integrations.flask_apps import WsgiServer
from tests.signin.hosted import PASSWORD, make_user
from tests.support import LiveServer, TestEnvironment, free_port

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "flask-dashboard" / "app.py"
ALL_PROJECTS = ["Analytical Engine", "Compiler", "Kernel", "Telescope"]


def example_app(env: TestEnvironment, app_url: str) -> Flask:
    spec = importlib.util.spec_from_file_location("flask_dashboard_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it runs
    spec.loader.exec_module(module)
    app: Flask = module.create_app(
        {
            "WORKOS_CLIENT_ID": env.client_id,
            "WORKOS_API_KEY": env.api_key,
            "WORKOS_BASE_URL": env.base_url,
            "WORKOS_REDIRECT_URI": f"{app_url}/callback",
            "WORKOS_COOKIE_PASSWORD": COOKIE_PASSWORD,
        }
    )
    return app


def session_cookie(page: Any) -> str:
    [value] = [c["value"] for c in page.context.cookies() if c["name"] == "wos-session"]
    return str(value)


def projects(page: Any) -> list[str]:
    return sorted(page.locator(".project h2").all_inner_texts())


def sign_in(page: Any, app_url: str, email: str) -> None:
    page.goto(f"{app_url}/")
    page.click("#sign-in")
    page.wait_for_url(re.compile(r"/authkit/sign-in\?"))
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{app_url}/projects")


def test_the_flask_dashboard_in_chromium(
    chromium: Any, live_server: LiveServer, database_url: str
) -> None:
    port = free_port()
    app_url = f"http://localhost:{port}"
    env = browser_environment(
        database_url,
        live_server.base_url,
        access_token_ttl=3,
        redirect_uris=(f"{app_url}/callback",),
        logout_uris=(f"{app_url}/",),
        settings={"signup": "invite_only"},
    )
    headers = {"Authorization": f"Bearer {env.api_key}"}
    with (
        httpx.Client(base_url=env.base_url, headers=headers, timeout=10) as admin,
        WsgiServer(example_app(env, app_url), port),
    ):
        alpha = admin.post("/organizations", json={"name": "Alpha"}).json()["id"]
        beta = admin.post("/organizations", json={"name": "Beta"}).json()["id"]
        ada = make_user(admin, "ada@example.com", (alpha,))
        make_user(admin, "grace@example.com", (alpha,))

        context = chromium.new_context()
        context.set_default_timeout(15_000)
        page = context.new_page()
        # A protected page sends the browser to sign in; it comes back there afterwards.
        page.goto(f"{app_url}/projects")
        page.wait_for_url(re.compile(r"/authkit/sign-in\?"))
        page.goto(f"{app_url}/")
        assert page.locator("#sign-out").count() == 0
        sign_in(page, app_url, "ada@example.com")
        assert projects(page) == ["Analytical Engine"]
        assert page.inner_text("#role") == "member"
        assert page.locator("#switch").count() == 0  # one organization: nothing to switch

        # The access token expires; the next page refreshes it and rewrites the cookie.
        sealed = session_cookie(page)
        wait_until_expired(sealed)
        page.reload()
        assert page.url == f"{app_url}/projects" and projects(page) == ["Analytical Engine"]
        assert session_cookie(page) != sealed

        # An admin membership in Beta: switching there shows every project.
        membership = {"user_id": ada["id"], "organization_id": beta, "role_slug": "admin"}
        assert admin.post("/user_management/organization_memberships", json=membership)
        page.reload()
        page.select_option("#switch select", beta)
        page.click("#switch button")
        page.wait_for_load_state()
        assert page.url == f"{app_url}/projects"
        assert page.inner_text("#role") == "admin" and projects(page) == ALL_PROJECTS
        page.select_option("#switch select", alpha)
        page.click("#switch button")
        page.wait_for_load_state()
        assert page.inner_text("#role") == "member" and projects(page) == ["Analytical Engine"]

        # Sign out: the server ends the session and sends the browser back to the app.
        page.click("#sign-out")
        page.wait_for_url(f"{app_url}/")
        assert page.locator("#sign-in").count() == 1
        assert not [c for c in context.cookies() if c["name"] == "wos-session"]
        sessions = admin.get(f"/user_management/users/{ada['id']}/sessions").json()
        assert sessions["data"] == []
        page.goto(f"{app_url}/projects")
        page.wait_for_url(re.compile(r"/authkit/sign-in\?"))
        context.close()

        # Another member of Alpha sees only the projects they own.
        context = chromium.new_context()
        context.set_default_timeout(15_000)
        page = context.new_page()
        sign_in(page, app_url, "grace@example.com")
        assert page.inner_text("#role") == "member"
        assert projects(page) == ["Compiler", "Telescope"]
        context.close()
