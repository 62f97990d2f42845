"""Magic Auth end to end against a live server whose mail goes to a real SMTP server: the
official `workos` SDK's methods, and every way a code can be refused."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from workos import WorkOSClient
from workos._errors import BadRequestError, NotFoundError

from tests.email_flows.conftest import Inbox
from tests.signin.hosted import make_user, signin_environment, verify
from tests.support import TestEnvironment


def test_create_get_and_authenticate_with_the_mailed_code(
    env: TestEnvironment, admin: httpx.Client, sdk: WorkOSClient, inbox: Inbox
) -> None:
    user = make_user(admin, "ada@example.com")
    created = sdk.user_management.create_magic_auth(email="ada@example.com")
    assert created.user_id == user["id"] and created.email == "ada@example.com"
    assert created.id.startswith("magic_auth_") and len(created.code) == 6
    lifetime = created.expires_at - created.created_at
    assert dt.timedelta(minutes=9) < lifetime <= dt.timedelta(minutes=10)

    mailed = inbox.code_for("ada@example.com")
    assert mailed == created.code
    assert "Subject: Your sign-in code" in inbox.mails_to("ada@example.com")[0]
    fetched = sdk.user_management.get_magic_auth(created.id)
    assert fetched.code == mailed and fetched.user_id == user["id"]

    auth = sdk.user_management.authenticate_with_magic_auth(code=mailed, email="ADA@example.com")
    assert auth.user.id == user["id"] and auth.user.email_verified is True
    assert auth.authentication_method == "MagicAuth"
    assert verify(env, auth.access_token)["sub"] == user["id"]

    with pytest.raises(BadRequestError) as used:
        sdk.user_management.authenticate_with_magic_auth(code=mailed, email="ada@example.com")
    assert used.value.code == "one_time_code_previously_used"


def test_an_unknown_email_gets_a_new_user_where_sign_up_is_open(
    admin: httpx.Client, sdk: WorkOSClient, inbox: Inbox
) -> None:
    created = sdk.user_management.create_magic_auth(email="new@example.com")
    user = admin.get(f"/user_management/users/{created.user_id}").json()
    assert user["email"] == "new@example.com" and user["email_verified"] is False
    auth = sdk.user_management.authenticate_with_magic_auth(
        code=inbox.code_for("new@example.com"), email="new@example.com"
    )
    assert auth.user.id == created.user_id and auth.user.email_verified is True


def test_invite_only_environments_refuse_unknown_emails(
    live_server: object, database_url: str, env: TestEnvironment
) -> None:
    closed = signin_environment(database_url, env.base_url, signup="invite_only")
    with httpx.Client(
        base_url=closed.base_url, headers={"Authorization": f"Bearer {closed.api_key}"}
    ) as client:
        response = client.post("/user_management/magic_auth", json={"email": "x@example.com"})
        assert response.status_code == 400
        assert response.json()["error"] == "sign_up_not_allowed"


def test_wrong_codes_lock_the_code_and_other_failures_are_clear(
    env: TestEnvironment, admin: httpx.Client, sdk: WorkOSClient, inbox: Inbox, database_url: str
) -> None:
    make_user(admin, "bob@example.com")
    sdk.user_management.create_magic_auth(email="bob@example.com")
    code = inbox.code_for("bob@example.com")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    def attempt(value: str, email: str = "bob@example.com") -> str:
        with pytest.raises(BadRequestError) as refused:
            sdk.user_management.authenticate_with_magic_auth(code=value, email=email)
        assert refused.value.code is not None
        return refused.value.code

    assert attempt("12345") == "invalid_one_time_code"  # not six digits: counted too
    for _ in range(4):
        assert attempt(wrong) == "invalid_one_time_code"
    assert attempt(code) == "one_time_code_too_many_attempts"  # locked, even the right code
    # A new code starts over; an unknown e-mail is just an invalid code.
    sdk.user_management.create_magic_auth(email="bob@example.com")
    fresh = inbox.code_for("bob@example.com", count=2)
    assert attempt(fresh, "nobody@example.com") == "invalid_one_time_code"
    # A code of another environment means nothing here.
    other = signin_environment(database_url, env.base_url)
    other_sdk = WorkOSClient(
        api_key=other.api_key, client_id=other.client_id, base_url=other.base_url
    )
    with pytest.raises(BadRequestError) as foreign:
        other_sdk.user_management.authenticate_with_magic_auth(code=fresh, email="bob@example.com")
    assert foreign.value.code == "invalid_one_time_code"
    with pytest.raises(NotFoundError):
        other_sdk.user_management.get_magic_auth(
            sdk.user_management.create_magic_auth(email="bob@example.com").id
        )
    assert (
        sdk.user_management.authenticate_with_magic_auth(
            code=inbox.code_for("bob@example.com", count=3), email="bob@example.com"
        ).user.email
        == "bob@example.com"
    )


def test_an_expired_code_is_refused(
    admin: httpx.Client, sdk: WorkOSClient, inbox: Inbox, database_url: str
) -> None:
    make_user(admin, "eve@example.com")
    created = sdk.user_management.create_magic_auth(email="eve@example.com")
    expire(database_url, "magic_auth_codes", created.id)
    with pytest.raises(BadRequestError) as expired:
        sdk.user_management.authenticate_with_magic_auth(code=created.code, email="eve@example.com")
    assert expired.value.code == "one_time_code_expired"


def test_bad_input_gets_workos_errors_not_500(admin: httpx.Client, env: TestEnvironment) -> None:
    assert admin.post("/user_management/magic_auth", json={}).status_code == 422
    assert admin.post("/user_management/magic_auth", json={"email": "nope"}).status_code == 422
    assert admin.post("/user_management/magic_auth", json={"email": 5}).status_code == 422
    assert admin.get("/user_management/magic_auth/magic_auth_nothing").status_code == 404
    grant = {
        "grant_type": "urn:workos:oauth:grant-type:magic-auth:code",
        "client_id": env.client_id,
        "email": "a@example.com",
        "code": "123456",
    }
    no_secret = httpx.post(f"{env.base_url}/user_management/authenticate", json=grant)
    assert no_secret.status_code == 400 and no_secret.json()["error"] == "invalid_client"
    missing = httpx.post(
        f"{env.base_url}/user_management/authenticate",
        json={**grant, "client_secret": env.api_key, "code": None},
    )
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"


def expire(database_url: str, table: str, row_id: str) -> None:
    from sqlalchemy import text

    from authkeep.store.db import create_engine
    from tests.support import run

    async def go() -> None:
        engine = create_engine(database_url, pool_size=1)
        try:
            async with engine.begin() as connection:
                await connection.execute(
                    text(f"UPDATE {table} SET expires_at = :past WHERE id = :id"),
                    {"past": dt.datetime(2000, 1, 1), "id": row_id},
                )
        finally:
            await engine.dispose()

    run(go())


def test_an_invitation_lets_a_code_sign_up_in_an_invite_only_environment(
    live_server: object, database_url: str, env: TestEnvironment, inbox: Inbox
) -> None:
    closed = signin_environment(database_url, env.base_url, signup="invite_only")
    sdk = WorkOSClient(api_key=closed.api_key, client_id=closed.client_id, base_url=closed.base_url)
    organization = sdk.organizations.create_organization(name="Invited Inc")
    invitation = sdk.user_management.send_invitation(
        email="invited@example.com", organization_id=organization.id, role_slug="admin"
    )
    with pytest.raises(BadRequestError):  # invite-only: no code without the invitation
        sdk.user_management.create_magic_auth(email="invited@example.com")
    with pytest.raises(BadRequestError):  # nor with another address's invitation
        sdk.user_management.create_magic_auth(
            email="other@example.com", invitation_token=invitation.token
        )
    created = sdk.user_management.create_magic_auth(
        email="invited@example.com", invitation_token=invitation.token
    )
    auth = sdk.user_management.authenticate_with_magic_auth(
        code=inbox.code_for("invited@example.com", count=2),  # after the invitation
        email="invited@example.com",
        invitation_token=invitation.token,
    )
    assert auth.user.id == created.user_id and auth.organization_id == organization.id
    claims = verify(closed, auth.access_token)
    assert claims["org_id"] == organization.id and claims["role"] == "admin"
    assert sdk.user_management.get_invitation(invitation.id).state == "accepted"
