"""E-mail verification against a live server whose mail goes to a real SMTP server: the SDK's
send/confirm/get, the 403 `email_verification_required` step-up of the password grant and the
email-verification grant that finishes it, and the refusals."""

from __future__ import annotations

import httpx
import pytest
from workos import WorkOSClient
from workos._errors import BadRequestError, EmailVerificationRequiredError, NotFoundError

from tests.email_flows.conftest import Inbox
from tests.email_flows.test_magic_auth import expire
from tests.signin.hosted import PASSWORD, make_user, signin_environment
from tests.support import TestEnvironment


@pytest.fixture
def strict(env: TestEnvironment, database_url: str) -> TestEnvironment:
    """An environment of the same server that requires verified e-mails."""
    return signin_environment(database_url, env.base_url, email_verification_required=True)


def clients(env: TestEnvironment) -> tuple[httpx.Client, WorkOSClient]:
    admin = httpx.Client(
        base_url=env.base_url, headers={"Authorization": f"Bearer {env.api_key}"}, timeout=10
    )
    sdk = WorkOSClient(api_key=env.api_key, client_id=env.client_id, base_url=env.base_url)
    return admin, sdk


def test_send_get_and_confirm_through_the_sdk(
    admin: httpx.Client, sdk: WorkOSClient, inbox: Inbox
) -> None:
    user = make_user(admin, "ada@example.com")
    sent = sdk.user_management.send_verification_email(user["id"])
    assert sent.user.id == user["id"] and sent.user.email_verified is False
    code = inbox.code_for("ada@example.com")
    assert "Subject: " in inbox.mails_to("ada@example.com")[0]

    with pytest.raises(BadRequestError) as wrong:
        sdk.user_management.verify_email(user["id"], code=f"{(int(code) + 1) % 10**6:06d}")
    assert wrong.value.code == "email_verification_code_incorrect"
    verified = sdk.user_management.verify_email(user["id"], code=code)
    assert verified.user.email_verified is True
    with pytest.raises(BadRequestError) as again:
        sdk.user_management.verify_email(user["id"], code=code)
    assert again.value.code == "email_previously_verified"
    with pytest.raises(BadRequestError) as resend:
        sdk.user_management.send_verification_email(user["id"])
    assert resend.value.code == "email_already_verified"


def test_password_sign_in_steps_up_until_the_mailed_code_is_entered(
    strict: TestEnvironment, inbox: Inbox
) -> None:
    admin, sdk = clients(strict)
    user = make_user(admin, "bob@example.com")
    with pytest.raises(EmailVerificationRequiredError) as step_up:
        sdk.user_management.authenticate_with_password(email="bob@example.com", password=PASSWORD)
    error = step_up.value
    assert error.email == "bob@example.com" and error.pending_authentication_token
    assert error.email_verification_id and error.email_verification_id.startswith(
        "email_verification_"
    )
    code = inbox.code_for("bob@example.com")
    fetched = sdk.user_management.get_email_verification(error.email_verification_id)
    assert fetched.code == code and fetched.user_id == user["id"]

    with pytest.raises(BadRequestError) as wrong:
        sdk.user_management.authenticate_with_email_verification(
            code="000000" if code != "000000" else "111111",
            pending_authentication_token=error.pending_authentication_token,
        )
    assert wrong.value.code == "invalid_one_time_code"
    auth = sdk.user_management.authenticate_with_email_verification(
        code=code, pending_authentication_token=error.pending_authentication_token
    )
    assert auth.user.id == user["id"] and auth.user.email_verified is True
    assert auth.authentication_method == "Password"
    with pytest.raises(BadRequestError) as reused:
        sdk.user_management.authenticate_with_email_verification(
            code=code, pending_authentication_token=error.pending_authentication_token
        )
    assert reused.value.code == "invalid_pending_authentication_token"
    # Verified now: the password alone signs in.
    again = sdk.user_management.authenticate_with_password(
        email="bob@example.com", password=PASSWORD
    )
    assert again.user.id == user["id"]
    admin.close()


def test_refusals_are_clear_and_never_500(
    strict: TestEnvironment, env: TestEnvironment, inbox: Inbox, database_url: str
) -> None:
    admin, sdk = clients(strict)
    user = make_user(admin, "cy@example.com")
    with pytest.raises(EmailVerificationRequiredError) as first:
        sdk.user_management.authenticate_with_password(email="cy@example.com", password=PASSWORD)
    token = first.value.pending_authentication_token
    assert token
    code = inbox.code_for("cy@example.com")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        with pytest.raises(BadRequestError):
            sdk.user_management.verify_email(user["id"], code=wrong)
    with pytest.raises(BadRequestError) as locked:
        sdk.user_management.authenticate_with_email_verification(
            code=code, pending_authentication_token=token
        )
    assert locked.value.code == "one_time_code_too_many_attempts"
    with pytest.raises(BadRequestError) as locked_confirm:
        sdk.user_management.verify_email(user["id"], code=code)
    assert locked_confirm.value.code == "email_verification_code_expired"
    assert "locked" in str(locked_confirm.value.message)

    sent = sdk.user_management.send_verification_email(user["id"])
    assert sent.user.email_verified is False
    fresh = inbox.code_for("cy@example.com", count=2)
    newest = admin.get(f"/user_management/users/{user['id']}").json()
    assert newest["email_verified"] is False
    # Expired: the newest code is past its time.
    with pytest.raises(EmailVerificationRequiredError) as second:
        sdk.user_management.authenticate_with_password(email="cy@example.com", password=PASSWORD)
    assert second.value.email_verification_id
    third_code = inbox.code_for("cy@example.com", count=3)
    expire(database_url, "email_verifications", second.value.email_verification_id)
    with pytest.raises(BadRequestError) as expired:
        sdk.user_management.authenticate_with_email_verification(
            code=third_code, pending_authentication_token=second.value.pending_authentication_token
        )
    assert expired.value.code == "one_time_code_expired"
    assert fresh != "" and len(third_code) == 6

    # Another environment knows neither the verification nor the pending token.
    other_admin, other_sdk = clients(env)
    with pytest.raises(NotFoundError):
        other_sdk.user_management.get_email_verification(second.value.email_verification_id)
    with pytest.raises(BadRequestError) as foreign:
        other_sdk.user_management.authenticate_with_email_verification(
            code=third_code, pending_authentication_token=second.value.pending_authentication_token
        )
    assert foreign.value.code == "invalid_pending_authentication_token"
    with pytest.raises(NotFoundError):
        other_sdk.user_management.send_verification_email(user["id"])
    assert (
        admin.post(
            f"/user_management/users/{user['id']}/email_verification/confirm", json={}
        ).status_code
        == 422
    )
    assert (
        admin.post(
            "/user_management/users/user_nope/email_verification/confirm", json={"code": "1"}
        ).status_code
        == 404
    )
    assert (
        admin.get("/user_management/email_verification/email_verification_nope").status_code == 404
    )
    admin.close()
    other_admin.close()
