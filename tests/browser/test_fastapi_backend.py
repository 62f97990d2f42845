"""The FastAPI example (examples/fastapi-backend) in Debian's Chromium against a live server: the
sign-in button opens the hosted sign-in screen, the callback lands on the notes page, an expired
access token is refreshed transparently (the cookie rewritten), switching to an organization where
the person is an admin shows that organization, the role and the organization's notes, and
sign-out returns to the app. A note written in the page is the same note the bearer API serves."""

from __future__ import annotations

import importlib.util
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from authkeep.integrations import AsyncAuthKit
from authkeep.services.config_file.parse import load_toml
from tests.browser.conftest import browser_environment
from tests.integrations.apps import COOKIE_PASSWORD, AppServer, session_payload, wait_until_expired
from tests.integrations.test_verifier import grant_permissions
from tests.signin.hosted import PASSWORD, make_user
from tests.support import LiveServer, TestEnvironment, free_port

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fastapi-backend"


def example_app(env: TestEnvironment, app_url: str) -> FastAPI:
    spec = importlib.util.spec_from_file_location("fastapi_backend_browser", EXAMPLE / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    authkit = AsyncAuthKit(
        client_id=env.client_id,
        api_key=env.api_key,
        base_url=env.base_url,
        redirect_uri=f"{app_url}/callback",
        cookie_password=COOKIE_PASSWORD,
    )
    app: FastAPI = module.create_app(authkit, environ={})
    return app


def give_admins_the_examples_permissions(database_url: str, env: TestEnvironment) -> None:
    """The admin role's permissions from the example's authkeep.toml (from a thread of its own:
    Playwright keeps an asyncio loop running on the main thread)."""
    declared = load_toml(EXAMPLE / "authkeep.toml").environments["development"]
    [admin] = [role for role in declared.roles or () if role.slug == "admin"]
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(grant_permissions, database_url, env, "admin", list(admin.permissions)).result()


def session_cookie(page: Any) -> str:
    [value] = [c["value"] for c in page.context.cookies() if c["name"] == "wos-session"]
    return str(value)


def texts(page: Any, list_id: str) -> list[str]:
    return list(page.locator(f"#{list_id} li").all_inner_texts())


def switch_to(page: Any, organization_id: str) -> None:
    page.select_option("#switch select", organization_id)
    page.click("#switch button")
    page.wait_for_load_state()


def test_the_fastapi_example_in_chromium(
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
    give_admins_the_examples_permissions(database_url, env)
    headers = {"Authorization": f"Bearer {env.api_key}"}
    with (
        httpx.Client(base_url=env.base_url, headers=headers, timeout=10) as admin,
        AppServer(example_app(env, app_url), port),
    ):
        alpha = admin.post("/organizations", json={"name": "Alpha"}).json()["id"]
        beta = admin.post("/organizations", json={"name": "Beta"}).json()["id"]
        ada = make_user(admin, "ada@example.com", (alpha,))

        context = chromium.new_context()
        context.set_default_timeout(15_000)
        page = context.new_page()
        # A protected page sends the browser to sign in; the home page offers it.
        page.goto(f"{app_url}/notes")
        page.wait_for_url(re.compile(r"/authkit/sign-in\?"))
        page.goto(f"{app_url}/")
        assert page.locator("#sign-out").count() == 0
        page.click("#sign-in")
        page.wait_for_url(re.compile(r"/authkit/sign-in\?"))
        page.fill("#email", "ada@example.com")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{app_url}/notes")
        assert page.inner_text("#email") == "ada@example.com"
        assert page.inner_text("#organization") == "Alpha"
        assert page.inner_text("#role") == "member"
        assert page.locator("#switch").count() == 0  # one organization: nothing to switch
        assert page.locator("#audit").count() == 0  # members do not review the organization

        # A note written in the page; the bearer API serves it with the session's access token.
        page.fill("#write textarea", "Notes on the engine's first program")
        page.click("#write button")
        page.wait_for_url(f"{app_url}/notes")
        assert texts(page, "mine") == ["Notes on the engine's first program"]
        token = session_payload(session_cookie(page))["accessToken"]
        served = httpx.get(f"{app_url}/api/notes", headers={"Authorization": f"Bearer {token}"})
        assert [note["text"] for note in served.json()] == ["Notes on the engine's first program"]

        # The access token expires; the next page refreshes it and rewrites the cookie.
        sealed = session_cookie(page)
        wait_until_expired(sealed)
        page.reload()
        assert page.url == f"{app_url}/notes"
        assert texts(page, "mine") == ["Notes on the engine's first program"]
        assert session_cookie(page) != sealed

        # An admin membership in Beta: switching there shows Beta, the role and its notes.
        membership = {"user_id": ada["id"], "organization_id": beta, "role_slug": "admin"}
        assert admin.post("/user_management/organization_memberships", json=membership)
        page.reload()
        switch_to(page, beta)
        assert page.url == f"{app_url}/notes"
        assert page.inner_text("#organization") == "Beta" and page.inner_text("#role") == "admin"
        assert page.locator("#audit").count() == 1 and texts(page, "audit") == []
        page.fill("#write textarea", "Beta's budget")
        page.click("#write button")
        page.wait_for_url(f"{app_url}/notes")
        assert texts(page, "audit") == ["Beta's budget"]
        switch_to(page, alpha)
        assert page.inner_text("#organization") == "Alpha"
        assert page.inner_text("#role") == "member" and page.locator("#audit").count() == 0

        # Sign out: the server ends the session and sends the browser back to the app.
        page.click("#sign-out")
        page.wait_for_url(f"{app_url}/")
        assert page.locator("#sign-in").count() == 1
        assert not [c for c in context.cookies() if c["name"] == "wos-session"]
        sessions = admin.get(f"/user_management/users/{ada['id']}/sessions").json()
        assert sessions["data"] == []
        page.goto(f"{app_url}/notes")
        page.wait_for_url(re.compile(r"/authkit/sign-in\?"))
        context.close()
