"""Invitations through the official `workos` SDK against a live server on SQLite and PostgreSQL,
with the accept links read from what a real SMTP server process received: every endpoint, the
password and code grants' `invitation_token`, the bad cases, the CLI, and SMTP being down."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from workos import BadRequestError, NotFoundError, WorkOSClient
from workos.user_management._resource import PasswordPlaintext

from tests import support
from tests.cli.test_dev import DevServer, authkeep
from tests.email_flows.support import (
    expire_invitation,
    mailing_server,
    mails_to,
    wait_for_links,
)
from tests.mail.support import SmtpSink, wait_until
from tests.signin.hosted import PASSWORD, signin_environment

INVITEE = "grace@example.com"
PLAIN = PasswordPlaintext(password=PASSWORD)


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[SmtpSink]:
    started = SmtpSink(support.free_port(), tmp_path / "inbox").start()
    yield started
    started.stop()


@pytest.fixture
def server(database_url: str, sink: SmtpSink) -> Iterator[support.LiveServer]:
    with mailing_server(database_url, sink) as started:
        yield started


@pytest.fixture
def env(server: support.LiveServer, database_url: str) -> support.TestEnvironment:
    return signin_environment(database_url, server.base_url, signup="invite_only")


@pytest.fixture
def sdk(env: support.TestEnvironment) -> WorkOSClient:
    return WorkOSClient(api_key=env.api_key, client_id=env.client_id, base_url=env.base_url)


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["invitation_token"][0]


def test_every_invitation_endpoint_through_the_sdk(sdk: WorkOSClient, sink: SmtpSink) -> None:
    org = sdk.organizations.create_organization(name="Analytical Engines")
    inviter = sdk.user_management.create_user(
        email="ada@example.com", first_name="Ada", last_name="Lovelace"
    )
    sent = sdk.user_management.send_invitation(
        email=INVITEE, organization_id=org.id, role_slug="admin", inviter_user_id=inviter.id
    )
    assert sent.state == "pending" and sent.organization_id == org.id
    assert sent.role_slug == "admin" and sent.inviter_user_id == inviter.id
    assert (sent.expires_at - sent.created_at).days == 7
    [link] = wait_for_links(sink, INVITEE)
    assert link == sent.accept_invitation_url and token_of(link) == sent.token
    [body] = mails_to(sink, INVITEE)
    assert "Ada Lovelace" in body and "Analytical Engines" in body

    assert sdk.user_management.get_invitation(sent.id).token == sent.token
    assert sdk.user_management.find_invitation_by_token(token_of(link)).id == sent.id
    with pytest.raises(NotFoundError):
        sdk.user_management.find_invitation_by_token("not-a-token")

    other = sdk.user_management.send_invitation(email="linus@example.com", expires_in_days=30)
    by_email = sdk.user_management.list_invitations(email="GRACE@example.com")
    assert [i.id for i in by_email.data] == [sent.id]
    by_org = sdk.user_management.list_invitations(organization_id=org.id)
    assert [i.id for i in by_org.data] == [sent.id]
    paged = sdk.user_management.list_invitations(limit=1)
    assert [i.id for i in paged.data] == [other.id]
    assert [i.id for i in paged.auto_paging_iter()] == [other.id, sent.id]

    resent = sdk.user_management.resend_invitation(sent.id)
    assert resent.token == sent.token
    assert wait_for_links(sink, INVITEE, 2) == [link, link]

    revoked = sdk.user_management.revoke_invitation(other.id)
    assert revoked.state == "revoked" and revoked.revoked_at is not None
    with pytest.raises(BadRequestError) as refused:
        sdk.user_management.resend_invitation(other.id)
    assert refused.value.code == "invite_revoked"
    with pytest.raises(BadRequestError) as again:
        sdk.user_management.revoke_invitation(other.id)
    assert again.value.code == "invite_not_pending"

    with pytest.raises(BadRequestError) as no_user:
        sdk.user_management.accept_invitation(sent.id)
    assert no_user.value.code == "invalid_invite"
    grace = sdk.user_management.create_user(email=INVITEE, password=PLAIN)
    accepted = sdk.user_management.accept_invitation(sent.id)
    assert accepted.state == "accepted" and accepted.accepted_user_id == grace.id
    memberships = sdk.organization_membership.list_organization_memberships(user_id=grace.id)
    assert [(m.organization_id, m.role.slug) for m in memberships.data] == [(org.id, "admin")]
    assert sdk.user_management.get_user(grace.id).email_verified is True
    with pytest.raises(BadRequestError) as twice:
        sdk.user_management.accept_invitation(sent.id)
    assert twice.value.code == "invite_has_accepted_user_id"
    with pytest.raises(BadRequestError) as accepted_resend:
        sdk.user_management.resend_invitation(sent.id)
    assert accepted_resend.value.code == "invite_accepted"


def test_sending_refuses_bad_input(sdk: WorkOSClient, env: support.TestEnvironment) -> None:
    org = sdk.organizations.create_organization(name="Refusals")
    sdk.user_management.send_invitation(email=INVITEE, organization_id=org.id)
    member = sdk.user_management.create_user(email="member@example.com")
    sdk.organization_membership.create_organization_membership(
        user_id=member.id, organization_id=org.id
    )
    cases = [
        ({"email": INVITEE, "organization_id": org.id}, "email_already_invited_to_organization"),
        ({"email": "member@example.com"}, "user_already_exists"),
        (
            {"email": "member@example.com", "organization_id": org.id},
            "user_already_organization_member",
        ),
        ({"email": "x@example.com", "expires_in_days": 0}, "expires_in_days_too_short"),
        ({"email": "x@example.com", "expires_in_days": 31}, "expires_in_days_too_long"),
        (
            {"email": "x@example.com", "organization_id": org.id, "role_slug": "owner"},
            "invalid_role",
        ),
    ]
    for options, code in cases:
        with pytest.raises(BadRequestError) as refused:
            sdk.user_management.send_invitation(**options)  # type: ignore[arg-type]
        assert refused.value.code == code, options
    with pytest.raises(NotFoundError):
        sdk.user_management.send_invitation(email="x@example.com", organization_id="org_nope")
    with httpx.Client(
        base_url=env.base_url, headers={"Authorization": f"Bearer {env.api_key}"}
    ) as http:
        for body in ({"email": "not-an-address"}, {"email": 5}, {"email": "a@b.co", "x": 1}):
            answer = http.post("/user_management/invitations", json=body)
            assert answer.status_code == 422, answer.text
            assert answer.json()["code"] == "invalid_request_parameters"
        assert http.get("/user_management/invitations/invitation_nope").status_code == 404
        bad_cursor = http.get("/user_management/invitations", params={"after": "x"})
        assert bad_cursor.status_code == 422


def test_password_grant_accepts_an_invitation_once_and_only_for_its_email(
    sdk: WorkOSClient, env: support.TestEnvironment, database_url: str, sink: SmtpSink
) -> None:
    org = sdk.organizations.create_organization(name="Grant Co")
    grace = sdk.user_management.create_user(email=INVITEE, password=PLAIN)
    sdk.user_management.create_user(email="eve@example.com", password=PLAIN)
    invitation = sdk.user_management.send_invitation(
        email=INVITEE, organization_id=org.id, role_slug="admin"
    )
    token = token_of(wait_for_links(sink, INVITEE)[0])

    with pytest.raises(BadRequestError) as mismatch:
        sdk.user_management.authenticate_with_password(
            email="eve@example.com", password=PASSWORD, invitation_token=token
        )
    assert mismatch.value.error == "invitation_cannot_be_used_for_email"
    assert sdk.user_management.get_invitation(invitation.id).state == "pending"

    signed_in = sdk.user_management.authenticate_with_password(
        email=INVITEE, password=PASSWORD, invitation_token=token
    )
    assert signed_in.organization_id == org.id and signed_in.user.email_verified is True
    claims = jwt.decode(signed_in.access_token, options={"verify_signature": False})
    assert claims["org_id"] == org.id and claims["role"] == "admin"
    accepted = sdk.user_management.get_invitation(invitation.id)
    assert accepted.state == "accepted" and accepted.accepted_user_id == grace.id

    with pytest.raises(BadRequestError) as reused:
        sdk.user_management.authenticate_with_password(
            email=INVITEE, password=PASSWORD, invitation_token=token
        )
    assert reused.value.error == "invitation_invalid"

    expired = sdk.user_management.send_invitation(email="late@example.com")
    expire_invitation(database_url, expired.id)
    assert sdk.user_management.get_invitation(expired.id).state == "expired"
    with pytest.raises(BadRequestError) as resend_expired:
        sdk.user_management.resend_invitation(expired.id)
    assert resend_expired.value.code == "invite_expired"
    sdk.user_management.create_user(email="late@example.com", password=PLAIN)
    revoked = sdk.user_management.send_invitation(email="gone@example.com")
    sdk.user_management.revoke_invitation(revoked.id)
    sdk.user_management.create_user(email="gone@example.com", password=PLAIN)
    for email, bad in (("late@example.com", expired), ("gone@example.com", revoked)):
        with pytest.raises(BadRequestError) as refused:
            sdk.user_management.authenticate_with_password(
                email=email, password=PASSWORD, invitation_token=bad.token
            )
        assert refused.value.error == "invitation_invalid"

    # Another environment's invitation means nothing here.
    other_env = signin_environment(database_url, env.base_url)
    other = WorkOSClient(
        api_key=other_env.api_key, client_id=other_env.client_id, base_url=env.base_url
    )
    foreign = other.user_management.send_invitation(email="late@example.com")
    with pytest.raises(BadRequestError) as foreign_refused:
        sdk.user_management.authenticate_with_password(
            email="late@example.com", password=PASSWORD, invitation_token=foreign.token
        )
    assert foreign_refused.value.error == "invitation_invalid"
    with pytest.raises(NotFoundError):
        sdk.user_management.get_invitation(foreign.id)


def test_cli_invite_on_a_dev_data_dir_shows_the_mail_in_the_dev_mailbox(tmp_path: Path) -> None:
    dev = DevServer(tmp_path, support.free_port()).start()
    try:
        credentials = json.loads(authkeep("env", "--json", cwd=tmp_path).stdout)
        sdk = WorkOSClient(
            api_key=credentials["api_key"],
            client_id=credentials["client_id"],
            base_url=credentials["base_url"],
        )
        org = sdk.organizations.create_organization(name="CLI Co")
        printed = authkeep(
            "invite",
            "cli@example.com",
            "--org",
            org.id,
            "--role",
            "admin",
            "--expires-in-days",
            "3",
            cwd=tmp_path,
        ).stdout.strip()
        assert printed.startswith(credentials["base_url"] + "/authkit/invitation?invitation_token=")
        [invitation] = sdk.user_management.list_invitations(email="cli@example.com").data
        assert invitation.accept_invitation_url == printed and invitation.role_slug == "admin"
        assert (invitation.expires_at - invitation.created_at).days == 3

        def mailed() -> list[dict[str, object]]:
            body = httpx.get(
                credentials["base_url"] + "/_authkeep/mailbox.json",
                params={"to": "cli@example.com"},
            ).json()
            return [m for m in body["data"] if m["template"] == "invitation"]

        [mail] = wait_until(mailed, what="the invitation in the dev mailbox")
        assert mail["links"] == [printed] and "CLI Co" in str(mail["subject"])
        refused = authkeep("invite", "cli@example.com", "--org", org.id, cwd=tmp_path, check=False)
        assert refused.returncode == 2 and "pending invitation" in refused.stderr
    finally:
        dev.stop()


def test_an_invitation_sent_while_smtp_is_down_arrives_once_it_is_back(
    database_url: str, tmp_path: Path
) -> None:
    sink = SmtpSink(support.free_port(), tmp_path / "inbox")  # not started: SMTP is down
    with mailing_server(database_url, sink) as server:
        env = signin_environment(database_url, server.base_url)
        sdk = WorkOSClient(api_key=env.api_key, client_id=env.client_id, base_url=env.base_url)
        sent = sdk.user_management.send_invitation(email="patient@example.com")
        assert sent.state == "pending"
        sink.start()
        try:
            [link] = wait_for_links(sink, "patient@example.com")
            assert link == sent.accept_invitation_url
            sdk.user_management.resend_invitation(sent.id)
            assert len(wait_for_links(sink, "patient@example.com", 2)) == 2
        finally:
            sink.stop()
