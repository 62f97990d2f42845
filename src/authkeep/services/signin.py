"""What every way of signing in shares: checking a password without telling whether the e-mail
exists, choosing the organization, the hosted pages' own session, and pending step-ups."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from authkeep.crypto.secrets import hash_secret, new_id, random_token
from authkeep.errors import AuthkeepError
from authkeep.services import passwords
from authkeep.services.rate_limits import PasswordAttemptLimits
from authkeep.services.users import find_by_email
from authkeep.store.models import (
    Environment,
    HostedSession,
    Organization,
    OrganizationMembership,
    PendingAuthentication,
    User,
    utcnow,
)

HOSTED_SESSION_SECONDS = 7 * 24 * 3600
PENDING_SECONDS = 600


class InvalidCredentials(AuthkeepError):
    status = 400
    code = "invalid_credentials"


async def find_password_user(
    session: AsyncSession,
    limits: PasswordAttemptLimits,
    environment: Environment,
    email: str,
    ip_address: str | None,
) -> User | None:
    """Step one of a password check: the attempt limits, then the account (None if unknown).

    Ends the transaction: nothing (on SQLite, the one writer) is held while argon2 runs."""
    limits.check(environment.id, email, ip_address)
    user = await find_by_email(session, environment.id, email)
    await session.commit()
    return user


async def confirm_password(
    limits: PasswordAttemptLimits,
    environment: Environment,
    email: str,
    password: str,
    ip_address: str | None,
    user: User | None,
    started: asyncio.Event | None = None,
) -> str | None:
    """Step two: `invalid_credentials`, after the same argon2 work, whether the e-mail is
    unknown, has no password, or the password is wrong. On success, a new hash when the stored
    one has outdated parameters (the caller stores it), else None."""
    matches = await passwords.verify_password(
        user.password_hash if user else None, password, started
    )
    if user is None or not matches:
        limits.failed(environment.id, email, ip_address)
        raise InvalidCredentials(f"Invalid credentials for '{email}'.")
    limits.succeeded(environment.id, email)
    if user.password_hash and passwords.needs_rehash(user.password_hash):
        return await passwords.rehash(password)
    return None


async def check_password(
    session: AsyncSession,
    limits: PasswordAttemptLimits,
    environment: Environment,
    email: str,
    password: str,
    ip_address: str | None,
) -> User:
    """The user, or `invalid_credentials`: both steps above, the new hash set on the user."""
    user = await find_password_user(session, limits, environment, email, ip_address)
    new_hash = await confirm_password(limits, environment, email, password, ip_address, user)
    assert user is not None  # confirm_password raised otherwise
    if new_hash is not None:
        user.password_hash = new_hash
    return user


async def record_sign_in(user: User) -> None:
    user.last_sign_in_at = utcnow()


@dataclass
class OrganizationChoice:
    organization_id: str | None
    choices: list[Organization]

    @property
    def needs_selection(self) -> bool:
        return self.organization_id is None and len(self.choices) > 1


async def active_organizations(
    session: AsyncSession, environment_id: str, user_id: str
) -> list[Organization]:
    rows = await session.scalars(
        select(Organization)
        .join(OrganizationMembership, OrganizationMembership.organization_id == Organization.id)
        .where(
            OrganizationMembership.environment_id == environment_id,
            OrganizationMembership.user_id == user_id,
            OrganizationMembership.status == "active",
        )
        .order_by(Organization.name, Organization.id)
    )
    return list(rows)


async def choose_organization(
    session: AsyncSession, environment_id: str, user_id: str
) -> OrganizationChoice:
    """One active membership decides; none means no organization; several need a choice."""
    organizations = await active_organizations(session, environment_id, user_id)
    if len(organizations) == 1:
        return OrganizationChoice(organizations[0].id, organizations)
    return OrganizationChoice(None, organizations)


# Hosted-page session -------------------------------------------------------------------------


async def create_hosted_session(
    session: AsyncSession,
    environment_id: str,
    user_id: str,
    auth_method: str,
    auth_time: dt.datetime,
) -> tuple[HostedSession, str]:
    token = random_token(32)
    row = HostedSession(
        id=new_id("hosted_session"),
        environment_id=environment_id,
        user_id=user_id,
        token_hash=hash_secret(token),
        auth_method=auth_method,
        auth_time=auth_time,
        expires_at=utcnow() + dt.timedelta(seconds=HOSTED_SESSION_SECONDS),
    )
    session.add(row)
    await session.flush()
    return row, token


async def find_hosted_session(
    session: AsyncSession, environment_id: str, token: str | None
) -> HostedSession | None:
    if not token:
        return None
    row = await session.scalar(
        select(HostedSession).where(
            HostedSession.token_hash == hash_secret(token),
            HostedSession.environment_id == environment_id,
        )
    )
    if row is None or row.ended_at is not None or row.expires_at <= utcnow():
        return None
    return row


async def end_hosted_session(session: AsyncSession, hosted_session_id: str | None) -> None:
    if not hosted_session_id:
        return
    row = await session.get(HostedSession, hosted_session_id)
    if row is not None and row.ended_at is None:
        row.ended_at = utcnow()


# Pending authentication (step-up) ------------------------------------------------------------


async def create_pending(
    session: AsyncSession,
    environment_id: str,
    client_id: str,
    user_id: str,
    auth_method: str,
    ip_address: str | None,
    user_agent: str | None,
) -> str:
    token = random_token(24)
    session.add(
        PendingAuthentication(
            id=new_id("pending_authentication"),
            environment_id=environment_id,
            client_id=client_id,
            token_hash=hash_secret(token),
            user_id=user_id,
            auth_method=auth_method,
            auth_time=utcnow(),
            ip_address=ip_address,
            user_agent=user_agent,
            expires_at=utcnow() + dt.timedelta(seconds=PENDING_SECONDS),
        )
    )
    await session.flush()
    return token


async def take_pending(
    session: AsyncSession, environment_id: str, client_id: str, token: str
) -> PendingAuthentication | None:
    row = await session.scalar(
        select(PendingAuthentication).where(
            PendingAuthentication.token_hash == hash_secret(token),
            PendingAuthentication.environment_id == environment_id,
        )
    )
    if (
        row is None
        or row.client_id != client_id
        or row.used_at is not None
        or row.expires_at <= utcnow()
    ):
        return None
    return row
