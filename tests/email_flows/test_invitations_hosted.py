"""Accepting invitations on the hosted pages: over plain HTTP (forms with CSRF, like a browser
without JavaScript) and in Chromium, in an invite-only environment, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from workos import WorkOSClient
from workos.user_management._resource import PasswordPlaintext

from tests import support
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS
from tests.email_flows.support import mailing_server, wait_for_links
from tests.mail.support import SmtpSink
from tests.signin.hosted import PASSWORD, callback_of, field, signin_environment


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[SmtpSink]:
    started = SmtpSink(support.free_port(), tmp_path / "inbox").start()
    yield started
    started.stop()


@pytest.fixture
def server(database_url: str, sink: SmtpSink) -> Iterator[support.LiveServer]:
    with mailing_server(database_url, sink) as started:
        yield started


def follow_to_form(browser: httpx.Client, link: str) -> httpx.Response:
    """Open the mailed link and follow authkeep's redirects to the page it ends on."""
    response = browser.get(link)
    while response.status_code == 302 and not response.headers["location"].startswith("http"):
        response = browser.get(response.headers["location"])
    return response


def post_form(browser: httpx.Client, page: httpx.Response, path: str, **fields: str) -> Any:
    data = {name: field(page.text, name) for name in ("request", "csrf_token")}
    data["invitation_token"] = field(page.text, "invitation_token")
    return browser.post(path, data={**data, **fields})


def test_hosted_sign_up_and_sign_in_accept_invitations_in_an_invite_only_environment(
    server: support.LiveServer, database_url: str, sink: SmtpSink
) -> None:
    env = signin_environment(database_url, server.base_url, signup="invite_only")
    sdk = WorkOSClient(api_key=env.api_key, client_id=env.client_id, base_url=env.base_url)
    org = sdk.organizations.create_organization(name="Hosted Co")
    sdk.user_management.send_invitation(email="new@example.com", organization_id=org.id)
    [link] = wait_for_links(sink, "new@example.com")
    with httpx.Client(base_url=env.base_url) as browser:
        # Without an invitation, invite-only sign-up is refused.
        plain = sdk.user_management.get_authorization_url(
            provider="authkit", redirect_uri="http://localhost:3000/callback", screen_hint="sign-up"
        )
        refused = follow_to_form(browser, plain)
        assert refused.status_code == 403 and "invitation only" in refused.text

        page = follow_to_form(browser, link)
        assert page.status_code == 200 and "/authkit/sign-up" in str(page.url)
        assert 'value="new@example.com" readonly' in page.text and "Hosted Co" in page.text
        # The address is the invited one, whatever the form posts.
        done = post_form(
            browser, page, "/authkit/sign-up", email="other@example.com", password=PASSWORD
        )
        callback = callback_of(done)
        assert callback.code and callback.url.startswith("http://localhost:3000/callback")
    signed_in = sdk.user_management.authenticate_with_code(code=callback.code)
    assert signed_in.user.email == "new@example.com" and signed_in.user.email_verified
    assert signed_in.organization_id == org.id
    assert sdk.user_management.list_invitations(email="new@example.com").data[0].state == "accepted"
    with httpx.Client(base_url=env.base_url) as browser:
        used = follow_to_form(browser, link)
        assert used.status_code == 400 and "can&#39;t be used" in used.text
        assert follow_to_form(browser, "/authkit/invitation?invitation_token=x").status_code == 400

    # An existing account signs in with the invitation; a different account cannot use it.
    second = sdk.organizations.create_organization(name="Second Co")
    sdk.user_management.create_user(
        email="old@example.com", password=PasswordPlaintext(password=PASSWORD)
    )
    sdk.user_management.create_user(
        email="eve@example.com", password=PasswordPlaintext(password=PASSWORD)
    )
    invitation = sdk.user_management.send_invitation(
        email="old@example.com", organization_id=second.id, role_slug="admin"
    )
    with httpx.Client(base_url=env.base_url) as browser:
        page = follow_to_form(browser, invitation.accept_invitation_url)
        assert "/authkit/sign-in" in str(page.url) and "Second Co" in page.text
        wrong = post_form(
            browser, page, "/authkit/sign-in", email="eve@example.com", password=PASSWORD
        )
        assert wrong.status_code == 400 and "another e-mail address" in wrong.text
        right = post_form(
            browser, wrong, "/authkit/sign-in", email="old@example.com", password=PASSWORD
        )
        code = callback_of(right).code
    assert code is not None
    signed_in = sdk.user_management.authenticate_with_code(code=code)
    assert signed_in.organization_id == second.id
    claims = jwt.decode(signed_in.access_token, options={"verify_signature": False})
    assert claims["role"] == "admin"


class CallbackApp:
    """The app's side: `/callback` exchanges the code with the workos SDK, like a backend, and
    shows who signed in, in which organization and with which role."""

    def __init__(self) -> None:
        self.sdk: WorkOSClient | None = None
        app = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                assert app.sdk is not None
                result = app.sdk.user_management.authenticate_with_code(code=query["code"][0])
                claims = jwt.decode(result.access_token, options={"verify_signature": False})
                body = (
                    f"<h1>Welcome {result.user.email}</h1><p id=org>{claims.get('org_id')}</p>"
                    f"<p id=role>{claims.get('role')}</p>"
                ).encode()
                self.send_response(HTTPStatus.OK)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.callback = f"http://localhost:{self.httpd.server_address[1]}/callback"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_chromium_invited_person_signs_up_from_the_mail_and_lands_in_the_app(
    server: support.LiveServer, database_url: str, sink: SmtpSink
) -> None:
    from playwright.sync_api import sync_playwright

    app = CallbackApp()
    env = support.make_environment(
        database_url,
        server.base_url,
        redirect_uris=(app.callback,),
        settings={"signup": "invite_only", "branding": {"name": "Acme Cloud"}},
    )
    admin = WorkOSClient(api_key=env.api_key, client_id=env.client_id, base_url=env.base_url)
    app.sdk = admin
    org = admin.organizations.create_organization(name="Analytical Engines")
    admin.user_management.send_invitation(
        email="person@example.com", organization_id=org.id, role_slug="admin"
    )
    [link] = wait_for_links(sink, "person@example.com")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 420, "height": 860})
        page.goto(link)
        page.wait_for_url("**/authkit/sign-up?**")
        email = page.locator("#email")
        assert email.input_value() == "person@example.com" and email.get_attribute("readonly") == ""
        assert "Analytical Engines" in page.inner_text("body")
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "invitation-sign-up.png"), full_page=True)
        page.fill("#first_name", "Person")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(app.callback + "?**")
        assert page.inner_text("h1") == "Welcome person@example.com"
        assert page.inner_text("#org") == org.id and page.inner_text("#role") == "admin"
        browser.close()
    finally:
        playwright.stop()
        app.stop()
    [invitation] = admin.user_management.list_invitations(organization_id=org.id).data
    assert invitation.state == "accepted"
