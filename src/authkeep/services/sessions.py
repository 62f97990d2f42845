"""User sessions and their refresh tokens (CONTRACT.md §4.6, §5).

A session has a maximum length and an inactivity timeout. Its refresh token is single use:
rotation is a compare-and-set on the token's status, so of several concurrent refreshes exactly
one rotates and the others, inside the grace window, get that rotation's result. A rotated token
presented after the grace window is treated as stolen and ends the session.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from authkeep.crypto.keys import SecretBox
from authkeep.crypto.secrets import hash_secret, new_id, random_token
from authkeep.errors import InvalidGrant, NotFound, OAuthError
from authkeep.store import rotation
from authkeep.store.models import (
    Environment,
    OrganizationMembership,
    RefreshToken,
    Session,
    User,
    utcnow,
)
from authkeep.store.pagination import Page, PageRequest, paginate

DEFAULT_MAX_SESSION_SECONDS = 30 * 24 * 3600
DEFAULT_IDLE_SECONDS = 14 * 24 * 3600
DEFAULT_REFRESH_GRACE_SECONDS = 10
# Activity is recorded at most this often: the inactivity timeout is counted in days.
ACTIVITY_RESOLUTION = dt.timedelta(seconds=60)


class OrganizationMembershipNotFound(OAuthError):
    error = "organization_membership_not_found"


def session_setting(environment: Environment, name: str, default: int) -> int:
    return int((environment.settings or {}).get(name, default))


@dataclass
class IssuedSession:
    session: Session | rotation.SessionRow  # a row read without the ORM by a one-step refresh
    refresh_token: str
    user: User | rotation.UserRow | None = None  # loaded with the session on refresh
    # (role slug, priority, permission slug) of the session's membership, when already read
    roles: list[tuple[str, int, str | None]] | None = None


def build_session(
    environment: Environment,
    *,
    client_id: str,
    user_id: str,
    organization_id: str | None,
    auth_method: str,
    auth_time: dt.datetime,
    ip_address: str | None,
    user_agent: str | None,
    hosted_session_id: str | None = None,
) -> IssuedSession:
    """A new session and its first refresh token, not yet added to any database session."""
    now = utcnow()
    max_seconds = session_setting(environment, "session_max_seconds", DEFAULT_MAX_SESSION_SECONDS)
    row = Session(
        id=new_id("session"),
        environment_id=environment.id,
        client_id=client_id,
        user_id=user_id,
        organization_id=organization_id,
        status="active",
        auth_method=auth_method,
        auth_time=auth_time,
        ip_address=ip_address,
        user_agent=user_agent,
        expires_at=now + dt.timedelta(seconds=max_seconds),
        last_active_at=now,
        hosted_session_id=hosted_session_id,
    )
    return IssuedSession(row, random_token(32))


async def add_session(session: AsyncSession, issued: IssuedSession) -> None:
    """Write a built session, and stage its refresh token for the next flush or commit (the
    session first: nothing tells the unit of work that the token row depends on it)."""
    session.add(issued.session)
    await session.flush()
    _add_refresh_token(session, issued.session, issued.refresh_token)


async def create_session(
    session: AsyncSession,
    environment: Environment,
    *,
    client_id: str,
    user_id: str,
    organization_id: str | None,
    auth_method: str,
    auth_time: dt.datetime,
    ip_address: str | None,
    user_agent: str | None,
    hosted_session_id: str | None = None,
) -> IssuedSession:
    issued = build_session(
        environment,
        client_id=client_id,
        user_id=user_id,
        organization_id=organization_id,
        auth_method=auth_method,
        auth_time=auth_time,
        ip_address=ip_address,
        user_agent=user_agent,
        hosted_session_id=hosted_session_id,
    )
    await add_session(session, issued)
    await session.flush()
    return issued


def _add_refresh_token(session: AsyncSession, user_session: Session, secret: str) -> None:
    session.add(
        RefreshToken(
            id=new_id("refresh_token"),
            environment_id=user_session.environment_id,
            session_id=user_session.id,
            token_hash=hash_secret(secret),
            status="active",
        )
    )


async def has_active_membership(
    session: AsyncSession, environment_id: str, user_id: str, organization_id: str
) -> bool:
    found = await session.scalar(
        select(OrganizationMembership.id).where(
            OrganizationMembership.environment_id == environment_id,
            OrganizationMembership.user_id == user_id,
            OrganizationMembership.organization_id == organization_id,
            OrganizationMembership.status == "active",
        )
    )
    return found is not None


async def _end(session: AsyncSession, user_session: Session, status: str) -> None:
    if user_session.status == "active":
        user_session.status = status
        user_session.ended_at = utcnow()
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.session_id == user_session.id, RefreshToken.status != "revoked")
        .values(status="revoked", successor_encrypted=None)
    )
    await session.flush()


def _check_alive(environment: Environment, user_session: Session, now: dt.datetime) -> str | None:
    """Why the session can no longer be refreshed, or None."""
    if user_session.status != "active":
        return f"The session has been {user_session.status}."
    if now >= user_session.expires_at:
        return "The session reached its maximum length."
    idle = session_setting(environment, "session_idle_seconds", DEFAULT_IDLE_SECONDS)
    if now - user_session.last_active_at >= dt.timedelta(seconds=idle):
        return "The session was inactive for too long."
    return None


async def refresh(
    session: AsyncSession,
    box: SecretBox,
    environment: Environment,
    *,
    client_id: str,
    refresh_token: str,
    organization_id: str | None,
) -> IssuedSession:
    """Rotate `refresh_token`, optionally switching the session's organization."""
    now = utcnow()
    query = (
        select(RefreshToken, Session, User)
        .join(Session, Session.id == RefreshToken.session_id)
        .join(User, User.id == Session.user_id)
        .where(
            RefreshToken.token_hash == hash_secret(refresh_token),
            RefreshToken.environment_id == environment.id,
        )
        .execution_options(populate_existing=True)
    )
    found = (await session.execute(query)).first()
    if found is None:
        raise InvalidGrant("The refresh token is invalid or has expired.")
    token, user_session, user = found
    if user_session.client_id != client_id:
        raise InvalidGrant("The refresh token was issued to another client.")
    problem = _check_alive(environment, user_session, now)
    if problem:
        if user_session.status == "active":
            await _end(session, user_session, "expired")
            await session.commit()
        raise InvalidGrant(problem)
    switching = organization_id is not None and organization_id != user_session.organization_id
    if switching and not await has_active_membership(
        session, environment.id, user_session.user_id, str(organization_id)
    ):
        raise OrganizationMembershipNotFound(
            f"The user is not an active member of organization '{organization_id}'."
        )

    if token.status == "active":
        successor = random_token(32)
        claimed = await session.execute(
            update(RefreshToken)
            .where(RefreshToken.id == token.id, RefreshToken.status == "active")
            .values(
                status="rotated",
                rotated_at=now,
                successor_encrypted=box.encrypt(successor.encode(), token.token_hash),
            )
        )
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            _add_refresh_token(session, user_session, successor)
            if switching:
                user_session.organization_id = organization_id
            if now - user_session.last_active_at >= ACTIVITY_RESOLUTION:
                user_session.last_active_at = now
            await session.flush()
            return IssuedSession(user_session, successor, user)
        # Another request rotated it first: read what it did.
        reread = (await session.execute(query)).first()
        assert reread is not None
        token, user_session, user = reread

    grace = session_setting(environment, "refresh_grace_seconds", DEFAULT_REFRESH_GRACE_SECONDS)
    if (
        token.status == "rotated"
        and token.rotated_at is not None
        and token.successor_encrypted is not None
        and now - token.rotated_at <= dt.timedelta(seconds=grace)
    ):
        successor = box.decrypt(token.successor_encrypted, token.token_hash).decode()
        return IssuedSession(user_session, successor, user)
    # A rotated token used again after the grace window: assume it leaked, end the session.
    await _end(session, user_session, "revoked")
    await session.commit()
    raise InvalidGrant("The refresh token was already used; the session has been revoked.")


async def refresh_in_one_step(
    engine: AsyncEngine,
    box: SecretBox,
    environment: Environment,
    *,
    client_id: str,
    refresh_token: str,
    organization_id: str | None,
    client_secret: str | None,
) -> IssuedSession | None:
    """The common refresh (active token, live session, same organization) in one database step;
    None when this token needs `refresh` to decide, which then runs with nothing changed."""
    now = utcnow()
    token_hash = hash_secret(refresh_token)
    successor = random_token(32)
    idle = session_setting(environment, "session_idle_seconds", DEFAULT_IDLE_SECONDS)
    rotated = await rotation.rotate(
        engine,
        rotation.Rotation(
            token_hash=token_hash,
            environment_id=environment.id,
            client_id=client_id,
            now=now,
            idle_cutoff=now - dt.timedelta(seconds=idle),
            activity_cutoff=now - ACTIVITY_RESOLUTION,
            organization_id=organization_id,
            api_key_hash=hash_secret(client_secret) if client_secret else None,
            successor_id=new_id("refresh_token"),
            successor_hash=hash_secret(successor),
            successor_encrypted=box.encrypt(successor.encode(), token_hash),
        ),
    )
    if rotated is None:
        return None
    return IssuedSession(rotated.session, successor, rotated.user, rotated.roles)


async def get_session(session: AsyncSession, environment_id: str, session_id: str) -> Session:
    row = await session.scalar(
        select(Session).where(Session.id == session_id, Session.environment_id == environment_id)
    )
    if row is None:
        raise NotFound.entity("Session", session_id)
    return row


async def revoke_session(session: AsyncSession, environment_id: str, session_id: str) -> Session:
    row = await get_session(session, environment_id, session_id)
    await _end(session, row, "revoked")
    return row


async def revoke_sessions_of_code(session: AsyncSession, session_id: str) -> None:
    row = await session.get(Session, session_id)
    if row is not None:
        await _end(session, row, "revoked")


async def list_user_sessions(
    session: AsyncSession, environment_id: str, user_id: str, page: PageRequest
) -> Page[Session]:
    query = select(Session).where(
        Session.environment_id == environment_id,
        Session.user_id == user_id,
        Session.status == "active",
        Session.expires_at > utcnow(),
    )
    return await paginate(session, query, Session.id, page)
