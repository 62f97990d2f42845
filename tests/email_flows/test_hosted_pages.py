"""The hosted pages' e-mailed codes over real HTTP, as a browser without JavaScript uses them:
"Email me a code" from the sign-in page, and the verification step of sign-in and sign-up in an
environment that requires verified e-mails. Codes come from the real SMTP server's mail."""

from __future__ import annotations

import httpx
from workos import WorkOSClient

from tests.email_flows.conftest import Inbox
from tests.signin.hosted import (
    CALLBACK,
    PASSWORD,
    callback_of,
    field,
    make_user,
    open_form,
    signin_environment,
    submit_sign_in,
)
from tests.support import TestEnvironment


def post_form(
    browser: httpx.Client, path: str, page: httpx.Response, **data: str
) -> httpx.Response:
    fields = {"request": field(page.text, "request"), "csrf_token": field(page.text, "csrf_token")}
    return browser.post(path, data={**fields, **data})


def ask_for_code(browser: httpx.Client, sdk: WorkOSClient, email: str) -> httpx.Response:
    url = sdk.user_management.get_authorization_url(
        provider="authkit", redirect_uri=CALLBACK, state="s1"
    )
    sign_in = open_form(browser, url)
    assert "Email me a code" in sign_in.text
    page = browser.get(f"/authkit/magic-auth?request={field(sign_in.text, 'request')}")
    assert page.status_code == 200 and 'action="/authkit/magic-auth"' in page.text
    code_page = post_form(browser, "/authkit/magic-auth", page, email=email)
    assert code_page.status_code == 200, code_page.text[:300]
    assert (
        "Check your e-mail" in code_page.text and 'autocomplete="one-time-code"' in code_page.text
    )
    return code_page


def test_email_me_a_code_signs_in_and_returns_to_the_app(
    admin: httpx.Client, sdk: WorkOSClient, browser: httpx.Client, inbox: Inbox
) -> None:
    user = make_user(admin, "ada@example.com")
    code_page = ask_for_code(browser, sdk, "ada@example.com")
    code = inbox.code_for("ada@example.com")
    wrong = post_form(
        browser, "/authkit/magic-auth/code", code_page, email="ada@example.com", code="00000"
    )
    assert wrong.status_code == 400 and "That code is not right" in wrong.text
    callback = callback_of(
        post_form(browser, "/authkit/magic-auth/code", wrong, email="ada@example.com", code=code)
    )
    assert callback.state == "s1" and callback.code
    auth = sdk.user_management.authenticate_with_code(code=callback.code)
    assert auth.user.id == user["id"] and auth.authentication_method == "MagicAuth"
    assert auth.user.email_verified is True


def test_unknown_addresses_get_the_same_page_and_forms_need_their_csrf_token(
    env: TestEnvironment, database_url: str, inbox: Inbox
) -> None:
    closed = signin_environment(database_url, env.base_url, signup="invite_only")
    sdk = WorkOSClient(api_key=closed.api_key, client_id=closed.client_id, base_url=closed.base_url)
    with httpx.Client(base_url=closed.base_url, follow_redirects=False) as browser:
        code_page = ask_for_code(browser, sdk, "stranger@example.com")
        refused = post_form(
            browser,
            "/authkit/magic-auth/code",
            code_page,
            email="stranger@example.com",
            code="123456",
        )
        assert refused.status_code == 400 and "That code is not right" in refused.text
        forged = browser.post(
            "/authkit/magic-auth",
            data={"request": field(code_page.text, "request"), "email": "a@example.com"},
        )
        assert forged.status_code == 403 and "This form has expired" in forged.text
    assert inbox.mails_to("stranger@example.com") == []


def test_sign_in_with_an_unverified_email_asks_for_the_mailed_code(
    env: TestEnvironment, database_url: str, inbox: Inbox
) -> None:
    strict = signin_environment(database_url, env.base_url, email_verification_required=True)
    sdk = WorkOSClient(api_key=strict.api_key, client_id=strict.client_id, base_url=strict.base_url)
    with httpx.Client(
        base_url=strict.base_url, headers={"Authorization": f"Bearer {strict.api_key}"}
    ) as admin:
        user = make_user(admin, "bob@example.com")
    url = sdk.user_management.get_authorization_url(provider="authkit", redirect_uri=CALLBACK)
    with httpx.Client(base_url=strict.base_url, follow_redirects=False) as browser:
        step = submit_sign_in(browser, open_form(browser, url), "bob@example.com", PASSWORD)
        assert step.status_code == 302 and "/authkit/verify-email" in step.headers["location"]
        page = browser.get(step.headers["location"])
        assert page.status_code == 200 and "Verify your e-mail" in page.text
        assert "bob@example.com" in page.text
        code = inbox.code_for("bob@example.com")
        wrong = post_form(browser, "/authkit/verify-email", page, code="abcdef")
        assert wrong.status_code == 400 and "That code is not right" in wrong.text
        callback = callback_of(post_form(browser, "/authkit/verify-email", wrong, code=code))
    auth = sdk.user_management.authenticate_with_code(code=callback.code or "")
    assert auth.user.id == user["id"] and auth.user.email_verified is True
    assert auth.authentication_method == "Password"


def test_sign_up_where_verification_is_required_mails_a_code_first(
    env: TestEnvironment, database_url: str, inbox: Inbox
) -> None:
    strict = signin_environment(database_url, env.base_url, email_verification_required=True)
    sdk = WorkOSClient(api_key=strict.api_key, client_id=strict.client_id, base_url=strict.base_url)
    url = sdk.user_management.get_authorization_url(
        provider="authkit", redirect_uri=CALLBACK, screen_hint="sign-up"
    )
    with httpx.Client(base_url=strict.base_url, follow_redirects=False) as browser:
        form = open_form(browser, url)
        step = post_form(
            browser, "/authkit/sign-up", form, email="new@example.com", password=PASSWORD
        )
        assert step.status_code == 302 and "/authkit/verify-email" in step.headers["location"]
        page = browser.get(step.headers["location"])
        code = inbox.code_for("new@example.com")
        callback = callback_of(post_form(browser, "/authkit/verify-email", page, code=code))
    auth = sdk.user_management.authenticate_with_code(code=callback.code or "")
    assert auth.user.email == "new@example.com" and auth.user.email_verified is True
