"""Magic Auth's hosted pages in Debian's Chromium, against a live server with the dev mailbox
(as under `authkeep dev`): from the sign-in page, "Email me a code", read the code from
`/_authkeep/mailbox.json`, enter it, and land back on the app with an authorization code that
the workos SDK exchanges for a MagicAuth session."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from workos import WorkOSClient

from tests import support
from tests.browser.conftest import SCREENSHOTS, browser_environment
from tests.conformance import ConformanceRecorder
from tests.signin.hosted import CALLBACK, PASSWORD


@pytest.fixture(scope="module")
def mailbox_server(
    database_url: str, recorder: ConformanceRecorder
) -> Iterator[support.LiveServer]:
    server = support.start_live_server(
        database_url, wrap=recorder.wrap, dev_mailbox=True, mail_poll_seconds=0.2
    )
    yield server
    server.stop()


def mailbox_code(base_url: str, environment_id: str, address: str) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        mails = httpx.get(
            f"{base_url}/_authkeep/mailbox.json",
            params={"to": address, "environment_id": environment_id},
        ).json()["data"]
        if mails and mails[0]["code"]:
            return str(mails[0]["code"])
        time.sleep(0.1)
    raise AssertionError(f"no code mailed to {address}")


def test_sign_in_with_an_emailed_code_in_chromium(
    mailbox_server: support.LiveServer, database_url: str, chromium: Any
) -> None:
    env = browser_environment(
        database_url,
        mailbox_server.base_url,
        redirect_uris=(CALLBACK,),
        settings={"branding": {"name": "Acme Cloud", "color": "#0a7e3d"}},
    )
    with httpx.Client(
        base_url=env.base_url, headers={"Authorization": f"Bearer {env.api_key}"}
    ) as admin:
        user = admin.post(
            "/user_management/users", json={"email": "ada@example.com", "password": PASSWORD}
        ).json()
    sdk = WorkOSClient(api_key=env.api_key, client_id=env.client_id, base_url=env.base_url)
    url = sdk.user_management.get_authorization_url(
        provider="authkit", redirect_uri=CALLBACK, state="chromium"
    )

    context = chromium.new_context(viewport={"width": 420, "height": 860})
    context.set_default_timeout(15_000)
    landed: list[str] = []

    def app_callback(route: Any) -> None:
        landed.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<h1>Signed in</h1>")

    context.route(re.compile(r"^http://localhost:3000/callback"), app_callback)
    page = context.new_page()
    try:
        page.goto(url)
        page.wait_for_url(re.compile(r"/authkit/sign-in\?"))
        page.click("text=Email me a code")
        page.wait_for_url(re.compile(r"/authkit/magic-auth\?"))
        page.fill("#email", "ada@example.com")
        page.click("button[type=submit]")
        page.wait_for_selector("text=Check your e-mail")
        code = mailbox_code(env.base_url, env.environment_id, "ada@example.com")
        page.fill("#code", "000000" if code != "000000" else "111111")
        page.click("button[type=submit]")
        page.wait_for_selector("text=That code is not right")
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "magic-auth-code.png"), full_page=True)
        page.fill("#code", code)
        page.click("button[type=submit]")
        page.wait_for_selector("text=Signed in")
    finally:
        context.close()

    [callback] = landed
    query = parse_qs(urlsplit(callback).query)
    assert query["state"] == ["chromium"]
    auth = sdk.user_management.authenticate_with_code(code=query["code"][0])
    assert auth.user.id == user["id"] and auth.authentication_method == "MagicAuth"
