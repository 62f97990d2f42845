"""The Django example (examples/django-app) in Chromium against a live authkeep: `manage.py
runserver` configured only by WORKOS_* variables, sign-in through the hosted pages, the account
page from `request.user`, a real expiry and transparent refresh, an organization switch through
the CSRF-protected form, the DRF endpoint with a bearer token, and sign-out."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, sync_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.integrations.apps import COOKIE_PASSWORD, session_payload, token_claims
from tests.integrations.test_verifier import password_token
from tests.signin.hosted import PASSWORD, make_user
from tests.support import (
    LiveServer,
    TestEnvironment,
    free_port,
    make_environment,
    set_access_token_ttl,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "django-app"


@pytest.fixture
def example(counted_server: LiveServer, database_url: str) -> Iterator[tuple[str, TestEnvironment]]:
    """The example under `manage.py runserver` on a free port, for a fresh environment."""
    port = free_port()
    app_url = f"http://localhost:{port}"
    env = make_environment(
        database_url,
        counted_server.base_url,
        redirect_uris=(f"{app_url}/auth/callback",),
        logout_uris=(f"{app_url}/",),
    )
    variables = {
        **os.environ,
        "WORKOS_CLIENT_ID": env.client_id,
        "WORKOS_API_KEY": env.api_key,
        "WORKOS_BASE_URL": counted_server.base_url,
        "WORKOS_COOKIE_PASSWORD": COOKIE_PASSWORD,
        "PORT": str(port),
        "DJANGO_DEBUG": "false",
    }
    variables.pop("DJANGO_SETTINGS_MODULE", None)
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=EXAMPLE,
        env=variables,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{app_url}/", timeout=1)
                break
            except httpx.TransportError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"runserver did not start: {server.stderr.read()}") from None
                time.sleep(0.1)
        yield app_url, env
    finally:
        server.terminate()
        server.wait(timeout=10)


def session_claims(page: Page) -> dict[str, object]:
    [cookie] = [c for c in page.context.cookies() if c["name"] == "wos-session"]
    return token_claims(session_payload(cookie["value"])["accessToken"])


def test_the_example_in_chromium(example: tuple[str, TestEnvironment], database_url: str) -> None:
    app_url, env = example
    headers = {"Authorization": f"Bearer {env.api_key}"}
    with httpx.Client(base_url=env.base_url, headers=headers, timeout=10) as admin:
        org_a = admin.post("/organizations", json={"name": "Alpha"}).json()["id"]
        org_b = admin.post("/organizations", json={"name": "Beta"}).json()["id"]
        user = make_user(admin, "ada@example.com", (org_a,))
        membership = {"user_id": user["id"], "organization_id": org_b, "role_slug": "admin"}
        assert admin.post("/user_management/organization_memberships", json=membership)
        api_user = make_user(admin, "api@example.com")
    set_access_token_ttl(database_url, env.environment_id, 3)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{app_url}/account")  # protected: off to the hosted sign-in
            page.wait_for_url(f"{env.base_url}/authkit/**")
            page.fill("#email", "ada@example.com")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            if "/authkit/organization" in page.url:
                page.click("button.choice:has-text('Alpha')")
            page.wait_for_url(f"{app_url}/account")
            assert page.text_content("#email") == "ada@example.com"
            assert page.text_content("#organization") == org_a
            first = session_claims(page)

            # The token expires; the next page load refreshes it and rewrites the cookie.
            time.sleep(max(float(first["exp"]) - time.time() + 0.1, 0))  # type: ignore[arg-type]
            page.reload()
            assert page.text_content("#email") == "ada@example.com"
            refreshed = session_claims(page)
            assert refreshed["sid"] == first["sid"] and refreshed["jti"] != first["jti"]
            assert page.text_content("#expires") == str(refreshed["exp"])

            page.fill("#organization-id", org_b)
            page.click("#switch")
            page.wait_for_url(f"{app_url}/account")
            assert page.text_content("#organization") == org_b
            assert page.text_content("#role") == "admin"

            page.click("#sign-out")
            page.wait_for_url(f"{app_url}/")
            assert page.is_visible("#sign-in")
            assert not [c for c in page.context.cookies() if c["name"] == "wos-session"]
        finally:
            browser.close()

    # The DRF endpoint takes bearer tokens and names what is wrong with the others.
    token = password_token(env, "api@example.com")
    orders = httpx.get(f"{app_url}/api/orders", headers={"Authorization": f"Bearer {token}"})
    assert orders.status_code == 200 and orders.json()["user_id"] == api_user["id"]
    missing = httpx.get(f"{app_url}/api/orders")
    assert missing.status_code == 401 and missing.json()["code"] == "authentication_required"
    assert missing.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
