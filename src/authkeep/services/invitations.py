"""Invitations (CONTRACT.md §6.5): sending, reading, revoking, resending and accepting.

A token is 256 random bits, handed out in `accept_invitation_url`; the row keeps its SHA-256 for
lookup and an encrypted copy (SecretBox, associated data = the row's id) because every invitation
object returns it. Acceptance is single use: one conditional UPDATE moves a pending invitation to
accepted, so of two concurrent accepts exactly one wins.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from authkeep.crypto.keys import SecretBox
from authkeep.crypto.secrets import hash_secret, new_id, random_token
from authkeep.errors import BadRequest, NotFound, UnprocessableEntity
from authkeep.mail.outbox import enqueue
from authkeep.services import roles as roles_service
from authkeep.services.organizations import get_organization
from authkeep.services.users import find_by_email, get_user
from authkeep.services.validation import check_email, normalize_email
from authkeep.store.models import (
    Environment,
    Invitation,
    OrganizationMembership,
    User,
    utcnow,
)
from authkeep.store.pagination import Page, PageRequest, paginate

DEFAULT_DAYS = 7
MAX_DAYS = 30
ACCEPT_PATH = "/authkit/invitation"


@dataclass
class NewInvitation:
    email: str
    organization_id: str | None = None
    role_slug: str | None = None
    expires_in_days: int | None = None
    inviter_user_id: str | None = None
    locale: str | None = None


def wire_state(invitation: Invitation) -> str:
    if invitation.state == "pending" and invitation.expires_at <= utcnow():
        return "expired"
    return invitation.state


def token_of(box: SecretBox, invitation: Invitation) -> str:
    return box.decrypt(invitation.token_encrypted, invitation.id).decode()


def accept_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{ACCEPT_PATH}?invitation_token={token}"


async def get_invitation(
    session: AsyncSession, environment_id: str, invitation_id: str
) -> Invitation:
    row = await session.scalar(
        select(Invitation).where(
            Invitation.id == invitation_id, Invitation.environment_id == environment_id
        )
    )
    if row is None:
        raise NotFound.entity("Invitation", invitation_id)
    return row


async def find_by_token(
    session: AsyncSession, environment_id: str, token: str
) -> Invitation | None:
    """Looked up by the token's hash: the database compares digests, never the secret itself."""
    if not token or len(token) > 200:
        return None
    return await session.scalar(
        select(Invitation).where(
            Invitation.token_hash == hash_secret(token),
            Invitation.environment_id == environment_id,
        )
    )


async def list_invitations(
    session: AsyncSession,
    environment_id: str,
    page: PageRequest,
    email: str | None,
    organization_id: str | None,
) -> Page[Invitation]:
    query = select(Invitation).where(Invitation.environment_id == environment_id)
    if email:
        query = query.where(Invitation.email_normalized == normalize_email(email))
    if organization_id:
        query = query.where(Invitation.organization_id == organization_id)
    return await paginate(session, query, Invitation.id, page)


async def _check_new(session: AsyncSession, environment: Environment, new: NewInvitation) -> int:
    days = DEFAULT_DAYS if new.expires_in_days is None else new.expires_in_days
    if days < 1:
        raise BadRequest("expires_in_days_too_short", "expires_in_days is at least 1.")
    if days > MAX_DAYS:
        raise BadRequest("expires_in_days_too_long", f"expires_in_days is at most {MAX_DAYS}.")
    if new.organization_id:
        await get_organization(session, environment.id, new.organization_id)
        if new.role_slug is not None:
            try:
                await roles_service.resolve_roles(
                    session, environment.id, new.organization_id, [new.role_slug]
                )
            except UnprocessableEntity as error:
                raise BadRequest("invalid_role", error.message) from None
    elif new.role_slug is not None:
        raise BadRequest("invalid_role", "role_slug needs organization_id.")
    if new.inviter_user_id:
        await get_user(session, environment.id, new.inviter_user_id)
    return days


async def _check_not_taken(
    session: AsyncSession, environment: Environment, new: NewInvitation
) -> None:
    user = await find_by_email(session, environment.id, new.email)
    if user is not None:
        if not new.organization_id:
            raise BadRequest("user_already_exists", f"A user with {new.email} already exists.")
        status = await session.scalar(
            select(OrganizationMembership.status).where(
                OrganizationMembership.user_id == user.id,
                OrganizationMembership.organization_id == new.organization_id,
            )
        )
        if status == "active":
            raise BadRequest(
                "user_already_organization_member",
                f"{new.email} is already a member of this organization.",
            )
    pending = await session.scalars(
        select(Invitation).where(
            Invitation.environment_id == environment.id,
            Invitation.email_normalized == normalize_email(new.email),
            Invitation.state == "pending",
            Invitation.expires_at > utcnow(),
        )
    )
    for other in pending:
        if other.organization_id == new.organization_id:
            if new.organization_id:
                raise BadRequest(
                    "email_already_invited_to_organization",
                    f"{new.email} already has a pending invitation to this organization.",
                )
            raise BadRequest(
                "email_already_invited", f"{new.email} already has a pending invitation."
            )


async def send_invitation(
    session: AsyncSession,
    environment: Environment,
    box: SecretBox,
    base_url: str,
    new: NewInvitation,
) -> Invitation:
    """Create the invitation and enqueue its mail, in the caller's transaction."""
    new.email = check_email(new.email)
    days = await _check_new(session, environment, new)
    await _check_not_taken(session, environment, new)
    token = random_token(32)
    now = utcnow()
    invitation = Invitation(
        id=new_id("invitation"),
        environment_id=environment.id,
        email=new.email,
        email_normalized=normalize_email(new.email),
        state="pending",
        token_hash=hash_secret(token),
        organization_id=new.organization_id or None,
        role_slug=new.role_slug if new.organization_id else None,
        inviter_user_id=new.inviter_user_id or None,
        locale=new.locale,
        expires_at=now + dt.timedelta(days=days),
        created_at=now,
        updated_at=now,
    )
    invitation.token_encrypted = box.encrypt(token.encode(), invitation.id)
    session.add(invitation)
    await session.flush()
    await _mail(session, environment, invitation, accept_url(base_url, token))
    return invitation


async def _mail(
    session: AsyncSession, environment: Environment, invitation: Invitation, url: str
) -> None:
    days = max(1, round((invitation.expires_at - utcnow()).total_seconds() / 86400))
    context: dict[str, object] = {"url": url, "expires_in_days": days}
    if invitation.inviter_user_id:
        inviter = await session.get(User, invitation.inviter_user_id)
        if inviter is not None:
            named = " ".join(p for p in (inviter.first_name, inviter.last_name) if p)
            context["inviter_name"] = inviter.name or named or inviter.email
    if invitation.organization_id:
        organization = await get_organization(session, environment.id, invitation.organization_id)
        context["organization_name"] = organization.name
    await enqueue(session, environment, to=invitation.email, template="invitation", context=context)


async def resend_invitation(
    session: AsyncSession,
    environment: Environment,
    box: SecretBox,
    base_url: str,
    invitation_id: str,
    locale: str | None = None,
) -> Invitation:
    invitation = await get_invitation(session, environment.id, invitation_id)
    state = wire_state(invitation)
    if state != "pending":
        raise BadRequest(f"invite_{state}", f"The invitation is {state}; send a new one instead.")
    await _mail(session, environment, invitation, accept_url(base_url, token_of(box, invitation)))
    if locale:
        invitation.locale = locale
    invitation.updated_at = utcnow()
    await session.flush()
    return invitation


async def revoke_invitation(
    session: AsyncSession, environment_id: str, invitation_id: str
) -> Invitation:
    invitation = await get_invitation(session, environment_id, invitation_id)
    if wire_state(invitation) != "pending":
        raise BadRequest("invite_not_pending", "Invite is not pending.")
    now = utcnow()
    result = await session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.state == "pending")
        .values(state="revoked", revoked_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise BadRequest("invite_not_pending", "Invite is not pending.")
    await session.refresh(invitation)
    return invitation
