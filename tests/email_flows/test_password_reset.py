"""Password reset (CONTRACT.md §6.7) against a live server on SQLite and PostgreSQL, mailing
through a real SMTP server process: the official `workos` SDK's methods, the hosted pages over
HTTP (CSRF included), sessions ended or kept, and bad input answered with clear errors."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from workos import WorkOSClient
from workos._errors import BadRequestError, NotFoundError, UnprocessableEntityError

from authkeep.cli import main
from authkeep.store.models import PasswordReset
from tests.email_flows.reset_support import (
    link_in,
    mail_server,
    mails_to,
    past,
    set_column,
    sink,
    wait_for_mail,
)
from tests.mail.support import SmtpSink
from tests.signin.hosted import (
    CALLBACK,
    PASSWORD,
    callback_of,
    field,
    make_user,
    open_form,
    sign_in,
    signin_environment,
    submit_sign_in,
)
from tests.support import SECRET, LiveServer, TestEnvironment

__all__ = ["mail_server", "sink"]  # fixtures, used by name
NEW_PASSWORD = "a brand new passphrase 42"
APP_RESET_PAGE = "https://app.example.com/reset?from=mail"


@pytest.fixture
def env(mail_server: LiveServer, database_url: str) -> TestEnvironment:
    return signin_environment(database_url, mail_server.base_url)


@pytest.fixture
def admin(env: TestEnvironment) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {env.api_key}"}
    with httpx.Client(base_url=env.base_url, headers=headers, timeout=10) as client:
        yield client


@pytest.fixture
def sdk(env: TestEnvironment) -> WorkOSClient:
    return WorkOSClient(
        api_key=env.api_key, client_id=env.client_id, base_url=env.base_url, max_retries=0
    )


@pytest.fixture
def browser(env: TestEnvironment) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=env.base_url, follow_redirects=False, timeout=10) as client:
        yield client


def address() -> str:
    return f"reset-{uuid.uuid4().hex[:8]}@example.com"


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def test_sdk_create_get_and_confirm_with_the_mailed_token(
    env: TestEnvironment, admin: httpx.Client, sdk: WorkOSClient, sink: SmtpSink
) -> None:
    email = address()
    user = make_user(admin, email)
    assert user["email_verified"] is False
    reset = sdk.user_management.reset_password(email=email.upper())
    assert reset.id.startswith("password_reset_") and reset.user_id == user["id"]
    assert reset.email == email
    assert reset.password_reset_url == (
        f"{env.base_url}/authkit/reset-password?token={reset.password_reset_token}"
    )
    assert 14 * 60 <= (reset.expires_at - reset.created_at).total_seconds() <= 15 * 60

    mail = wait_for_mail(sink, email)
    assert "reset" in str(mail["Subject"]).lower()
    assert token_of(link_in(mail, "/authkit/reset-password")) == reset.password_reset_token

    fetched = sdk.user_management.get_password_reset(reset.id)
    assert fetched.password_reset_token == reset.password_reset_token
    assert fetched.password_reset_url == reset.password_reset_url

    confirmed = sdk.user_management.confirm_password_reset(
        token=reset.password_reset_token, new_password=NEW_PASSWORD
    )
    assert confirmed.user.id == user["id"] and confirmed.user.email_verified is True
    signed_in = sdk.user_management.authenticate_with_password(email=email, password=NEW_PASSWORD)
    assert signed_in.user.id == user["id"]
    with pytest.raises(BadRequestError):
        sdk.user_management.authenticate_with_password(email=email, password=PASSWORD)
    # Used once: the same token again is refused, clearly.
    with pytest.raises(BadRequestError) as reused:
        sdk.user_management.confirm_password_reset(
            token=reset.password_reset_token, new_password="yet another passphrase"
        )
    assert reused.value.code == "password_reset_error"
    assert reused.value.errors[0]["code"] == "password_reset_token_already_used"


def test_bad_input_gets_clear_errors(
    env: TestEnvironment,
    admin: httpx.Client,
    sdk: WorkOSClient,
    database_url: str,
    mail_server: LiveServer,
) -> None:
    email = address()
    make_user(admin, email)
    # An unknown e-mail is a 404 on the API (as WorkOS answers); it needs the API key.
    with pytest.raises(NotFoundError):
        sdk.user_management.reset_password(email="nobody@example.com")
    with pytest.raises(NotFoundError):
        sdk.user_management.get_password_reset("password_reset_01JABCDEFGHJKMNPQRSTVWXYZ0")
    with pytest.raises(NotFoundError):
        sdk.user_management.confirm_password_reset(token="not-a-token", new_password=NEW_PASSWORD)

    reset = sdk.user_management.reset_password(email=email)
    # Weak: refused with the reasons, and the token stays usable.
    with pytest.raises(BadRequestError) as weak:
        sdk.user_management.confirm_password_reset(
            token=reset.password_reset_token, new_password="short"
        )
    assert weak.value.code == "password_reset_error"
    assert {e["code"] for e in weak.value.errors} >= {"password_too_short"}

    # Another environment's key cannot see or redeem this environment's reset.
    other = signin_environment(database_url, mail_server.base_url)
    other_sdk = WorkOSClient(
        api_key=other.api_key, client_id=other.client_id, base_url=other.base_url, max_retries=0
    )
    with pytest.raises(NotFoundError):
        other_sdk.user_management.get_password_reset(reset.id)
    with pytest.raises(NotFoundError):
        other_sdk.user_management.confirm_password_reset(
            token=reset.password_reset_token, new_password=NEW_PASSWORD
        )

    set_column(database_url, PasswordReset, reset.id, expires_at=past())
    with pytest.raises(BadRequestError) as expired:
        sdk.user_management.confirm_password_reset(
            token=reset.password_reset_token, new_password=NEW_PASSWORD
        )
    assert expired.value.errors[0]["code"] == "password_reset_token_expired"

    for body in ({}, {"email": 5}, {"email": email, "extra": 1}):
        response = admin.post("/user_management/password_reset", json=body)
        assert response.status_code == 422 and response.json()["code"]
    response = admin.post("/user_management/password_reset/confirm", json={"token": "x"})
    assert response.status_code == 422
    with pytest.raises(UnprocessableEntityError):
        sdk.user_management.confirm_password_reset(token="x" * 600, new_password=NEW_PASSWORD)


def _signed_in_everywhere(
    env: TestEnvironment, sdk: WorkOSClient, browser: httpx.Client, email: str
) -> str:
    """A hosted-page session in `browser` and an app session: its refresh token."""
    url = sdk.user_management.get_authorization_url(provider="authkit", redirect_uri=CALLBACK)
    callback = sign_in(browser, url, email)
    assert callback.code
    return sdk.user_management.authenticate_with_code(code=callback.code).refresh_token


def test_a_reset_ends_every_session_by_default(
    env: TestEnvironment, admin: httpx.Client, sdk: WorkOSClient, browser: httpx.Client
) -> None:
    email = address()
    make_user(admin, email)
    refresh_token = _signed_in_everywhere(env, sdk, browser, email)
    reset = sdk.user_management.reset_password(email=email)
    sdk.user_management.confirm_password_reset(
        token=reset.password_reset_token, new_password=NEW_PASSWORD
    )
    with pytest.raises(BadRequestError) as refused:
        sdk.user_management.authenticate_with_refresh_token(refresh_token=refresh_token)
    assert refused.value.error == "invalid_grant"
    # The hosted session ended too: authorize shows the form instead of signing straight in.
    url = sdk.user_management.get_authorization_url(provider="authkit", redirect_uri=CALLBACK)
    response = browser.get(url)
    assert "/authkit/sign-in" in response.headers["location"]


def test_sessions_are_kept_when_the_setting_is_off(
    env: TestEnvironment,
    admin: httpx.Client,
    sdk: WorkOSClient,
    browser: httpx.Client,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AUTHKEEP_SECRET_KEY", SECRET)
    flags = ["--no-end-sessions-on-password-reset", "--password-reset-url", APP_RESET_PAGE]
    assert (
        main(["environments", "configure", env.name, *flags, "--database-url", database_url]) == 0
    )
    shown = capsys.readouterr().out
    assert '"end_sessions_on_password_reset": false' in shown and APP_RESET_PAGE in shown
    email = address()
    make_user(admin, email)
    refresh_token = _signed_in_everywhere(env, sdk, browser, email)
    reset = sdk.user_management.reset_password(email=email)
    # The app's own reset page gets the token, its query kept.
    assert reset.password_reset_url == f"{APP_RESET_PAGE}&token={reset.password_reset_token}"
    sdk.user_management.confirm_password_reset(
        token=reset.password_reset_token, new_password=NEW_PASSWORD
    )
    refreshed = sdk.user_management.authenticate_with_refresh_token(refresh_token=refresh_token)
    assert refreshed.refresh_token and refreshed.refresh_token != refresh_token


def _forgot(browser: httpx.Client, sign_in_page: httpx.Response, email: str) -> httpx.Response:
    match = re.search(r'href="(/authkit/forgot-password\?request=[^"]+)"', sign_in_page.text)
    assert match, "no Forgot password? link on the sign-in page"
    page = browser.get(match.group(1))
    assert page.status_code == 200 and "Reset your password" in page.text
    return browser.post(
        "/authkit/forgot-password",
        data={
            "request": field(page.text, "request"),
            "csrf_token": field(page.text, "csrf_token"),
            "email": email,
        },
    )


def test_hosted_forgot_mail_link_new_password_then_sign_in(
    env: TestEnvironment,
    admin: httpx.Client,
    sdk: WorkOSClient,
    browser: httpx.Client,
    sink: SmtpSink,
) -> None:
    email = address()
    user = make_user(admin, email)
    url = sdk.user_management.get_authorization_url(
        provider="authkit", redirect_uri=CALLBACK, state="s1"
    )
    sign_in_page = open_form(browser, url)
    sent = _forgot(browser, sign_in_page, email)
    assert sent.status_code == 200 and "Check your e-mail" in sent.text

    link = link_in(wait_for_mail(sink, email), "/authkit/reset-password")
    page = browser.get(link)
    assert page.status_code == 200 and "Choose a new password" in page.text
    assert 'autocomplete="new-password"' in page.text
    form = {
        "token": field(page.text, "token"),
        "request": field(page.text, "request"),
        "csrf_token": field(page.text, "csrf_token"),
    }
    # Without the CSRF token: refused, nothing changed.
    refused = browser.post("/authkit/reset-password", data={**form, "csrf_token": "x"})
    assert refused.status_code == 403
    mismatch = browser.post(
        "/authkit/reset-password",
        data={**form, "new_password": NEW_PASSWORD, "confirm_password": "other"},
    )
    assert mismatch.status_code == 400 and "do not match" in mismatch.text
    weak = browser.post(
        "/authkit/reset-password", data={**form, "new_password": "aaa", "confirm_password": "aaa"}
    )
    assert weak.status_code == 400 and "at least 8 characters" in weak.text
    done = browser.post(
        "/authkit/reset-password",
        data={**form, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    )
    assert done.status_code == 200 and "password has been changed" in done.text
    back = re.search(r'href="(/authkit/sign-in\?request=[^"]+)"', done.text)
    assert back, "the done page leads back to sign-in"

    again = browser.get(back.group(1).replace("&amp;", "&"))
    assert submit_sign_in(browser, again, email, PASSWORD).status_code == 400
    callback = callback_of(submit_sign_in(browser, again, email, NEW_PASSWORD))
    assert callback.code and callback.state == "s1"
    auth = sdk.user_management.authenticate_with_code(code=callback.code)
    assert auth.user.id == user["id"] and auth.user.email_verified

    # The link is spent: opening it again says so.
    reused = browser.get(link)
    assert reused.status_code == 400 and "already used" in reused.text


def test_hosted_answer_is_the_same_for_an_unknown_email_and_no_mail_goes_out(
    env: TestEnvironment,
    admin: httpx.Client,
    sdk: WorkOSClient,
    browser: httpx.Client,
    sink: SmtpSink,
) -> None:
    known, unknown = address(), address()
    make_user(admin, known)
    url = sdk.user_management.get_authorization_url(provider="authkit", redirect_uri=CALLBACK)
    page = open_form(browser, url)
    for_known = _forgot(browser, page, known)
    for_unknown = _forgot(browser, page, unknown)
    assert for_known.status_code == for_unknown.status_code == 200
    assert for_known.text.replace(known, "@") == for_unknown.text.replace(unknown, "@")
    wait_for_mail(sink, known)
    assert mails_to(sink, unknown) == []


def test_hosted_expired_and_wrong_links_get_a_clear_page(
    env: TestEnvironment,
    admin: httpx.Client,
    sdk: WorkOSClient,
    browser: httpx.Client,
    database_url: str,
) -> None:
    email = address()
    make_user(admin, email)
    reset = sdk.user_management.reset_password(email=email)
    set_column(database_url, PasswordReset, reset.id, expires_at=past())
    expired = browser.get(reset.password_reset_url)
    assert expired.status_code == 400 and "expired" in expired.text
    wrong = browser.get("/authkit/reset-password?token=wrong")
    assert wrong.status_code == 400 and "not valid" in wrong.text
    posted = browser.post("/authkit/reset-password", data={"token": "wrong"})
    assert posted.status_code == 400 and "not valid" in posted.text
    # authkit-js's password_reset_token parameter opens the same page.
    url = sdk.user_management.get_authorization_url(provider="authkit", redirect_uri=CALLBACK)
    opened = browser.get(url + "&password_reset_token=wrong")
    assert opened.status_code == 302 and "/authkit/reset-password" in opened.headers["location"]


def test_concurrent_confirms_of_one_token_succeed_once(
    env: TestEnvironment, admin: httpx.Client, sdk: WorkOSClient
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    email = address()
    make_user(admin, email)
    token = sdk.user_management.reset_password(email=email).password_reset_token

    def confirm(index: int) -> int:
        body = {"token": token, "new_password": f"{NEW_PASSWORD} {index}"}
        return admin.post("/user_management/password_reset/confirm", json=body).status_code

    with ThreadPoolExecutor(4) as pool:
        statuses = sorted(pool.map(confirm, range(4)))
    assert statuses == [200, 400, 400, 400]
