"""Accepting an invitation (CONTRACT.md §3.3 step 3, §6.5): through a grant's `invitation_token`,
the hosted pages, or `POST /user_management/invitations/{id}/accept`.

Acceptance checks the e-mail (case-insensitively), marks the invitation accepted with one
conditional UPDATE (so a token works once, however many requests race for it), creates or
activates the organization membership with the invited role, and counts the e-mail as verified:
the person proved it by opening the mail.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from authkeep.crypto.secrets import new_id
from authkeep.errors import BadRequest, OAuthError
from authkeep.services import roles as roles_service
from authkeep.services.invitations import find_by_token, get_invitation, wire_state
from authkeep.services.users import find_by_email
from authkeep.services.validation import normalize_email
from authkeep.store.models import Environment, Invitation, OrganizationMembership, User, utcnow


class InvitationInvalid(OAuthError):
    """Unknown, expired, revoked or used: what a grant or hosted page answers (§3.5)."""

    error = "invitation_invalid"
    default_message = "The invitation is invalid, expired, revoked or already accepted."


class InvitationEmailMismatch(OAuthError):
    error = "invitation_cannot_be_used_for_email"
    default_message = "The invitation was sent to another e-mail address."


async def usable(session: AsyncSession, environment_id: str, token: str) -> Invitation:
    """The pending, unexpired invitation of this environment behind `token`."""
    invitation = await find_by_token(session, environment_id, token)
    if invitation is None or wire_state(invitation) != "pending":
        raise InvitationInvalid()
    return invitation


def check_email_matches(invitation: Invitation, user: User) -> None:
    if normalize_email(user.email) != invitation.email_normalized:
        raise InvitationEmailMismatch(
            f"The invitation was sent to another e-mail address than {user.email}."
        )


async def accept(
    session: AsyncSession, environment: Environment, invitation: Invitation, user: User
) -> Invitation:
    """Accept for `user`: membership, verified e-mail, invitation state. Raises
    `InvitationInvalid` when another request used it first."""
    check_email_matches(invitation, user)
    now = utcnow()
    result = await session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.state == "pending",
            Invitation.expires_at > now,
        )
        .values(state="accepted", accepted_at=now, accepted_user_id=user.id, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise InvitationInvalid()
    await session.refresh(invitation)
    user.email_verified = True
    if invitation.organization_id:
        await _join(session, environment, invitation, user)
    await session.flush()
    return invitation


async def _join(
    session: AsyncSession, environment: Environment, invitation: Invitation, user: User
) -> None:
    assert invitation.organization_id is not None
    slugs = [invitation.role_slug] if invitation.role_slug else []
    roles = await roles_service.resolve_roles(
        session, environment.id, invitation.organization_id, slugs
    )
    membership = await session.scalar(
        select(OrganizationMembership).where(
            OrganizationMembership.user_id == user.id,
            OrganizationMembership.organization_id == invitation.organization_id,
        )
    )
    if membership is None:
        session.add(
            OrganizationMembership(
                id=new_id("om"),
                environment_id=environment.id,
                user_id=user.id,
                organization_id=invitation.organization_id,
                status="active",
                custom_attributes={},
                roles=roles,
            )
        )
    else:
        membership.status = "active"
        if invitation.role_slug:
            membership.roles = roles
        membership.updated_at = utcnow()


async def accept_token(
    session: AsyncSession, environment: Environment, token: str, user: User
) -> Invitation:
    """A grant's `invitation_token`: checked, then accepted for the user signing in."""
    invitation = await usable(session, environment.id, token)
    return await accept(session, environment, invitation, user)


async def accept_by_id(
    session: AsyncSession, environment: Environment, invitation_id: str
) -> Invitation:
    """`POST .../invitations/{id}/accept`: for the existing user with the invited e-mail."""
    invitation = await get_invitation(session, environment.id, invitation_id)
    if invitation.accepted_user_id is not None:
        raise BadRequest("invite_has_accepted_user_id", "The invitation was already accepted.")
    if wire_state(invitation) != "pending":
        raise BadRequest("invite_not_pending", "Invite is not pending.")
    user = await find_by_email(session, environment.id, invitation.email)
    if user is None:
        raise BadRequest(
            "invalid_invite",
            "No user has the invited e-mail yet: they accept by signing up with the invitation.",
        )
    try:
        return await accept(session, environment, invitation, user)
    except InvitationInvalid:
        raise BadRequest("invite_not_pending", "Invite is not pending.") from None
