"""Password reset (CONTRACT.md §6.7): a single-use, expiring token mailed as a link, then a new
password that (by default) ends every session the user had.

The token is 256 random bits, so guessing is hopeless; it is still stored only as a SHA-256 hash
(looked up, then compared in constant time) plus an encrypted copy, because `GET
/user_management/password_reset/{id}` returns it. Redeeming is a compare-and-set on `used_at`,
so of two concurrent confirms exactly one succeeds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from authkeep.crypto.keys import SecretBox
from authkeep.crypto.secrets import constant_time_equal, hash_secret, new_id, random_token
from authkeep.errors import BadRequest, NotFound
from authkeep.mail.outbox import enqueue
from authkeep.services import passwords
from authkeep.services.users import find_by_email, get_user
from authkeep.store.models import (
    Environment,
    HostedSession,
    PasswordReset,
    RefreshToken,
    Session,
    User,
    utcnow,
)

# WorkOS's own example object expires 15 minutes after creation (CONTRACT.md §6.7).
RESET_TTL = dt.timedelta(minutes=15)
HOSTED_PATH = "/authkit/reset-password"


class PasswordResetError(BadRequest):
    """400 `password_reset_error` with the reasons in `errors` (the spec's only 400 shape)."""

    def __init__(self, message: str, errors: list[dict[str, str]]) -> None:
        super().__init__("password_reset_error", message, errors=errors)


@dataclass(frozen=True)
class IssuedReset:
    reset: PasswordReset
    token: str
    url: str


def ends_sessions(environment: Environment) -> bool:
    return bool((environment.settings or {}).get("end_sessions_on_password_reset", True))


def reset_url(environment: Environment, base_url: str, token: str, **extra: str) -> str:
    """The environment's configured reset page, or the hosted one, with `token` in its query."""
    configured = (environment.settings or {}).get("password_reset_url")
    parts = urlsplit(configured or f"{base_url.rstrip('/')}{HOSTED_PATH}")
    query = urlencode({"token": token, **({} if configured else extra)})
    return urlunsplit(parts._replace(query=f"{parts.query}&{query}" if parts.query else query))


async def create_password_reset(
    session: AsyncSession,
    box: SecretBox,
    environment: Environment,
    base_url: str,
    user: User,
    **link_extra: str,
) -> IssuedReset:
    """A new reset for `user`, its e-mail enqueued in the caller's transaction."""
    token = random_token(32)
    now = utcnow()
    reset = PasswordReset(
        id=new_id("password_reset"),
        environment_id=environment.id,
        user_id=user.id,
        email=user.email,
        token_hash=hash_secret(token),
        expires_at=now + RESET_TTL,
        created_at=now,
        updated_at=now,
    )
    reset.token_encrypted = box.encrypt(token.encode(), reset.id)
    session.add(reset)
    await session.flush()
    url = reset_url(environment, base_url, token)
    mailed = reset_url(environment, base_url, token, **link_extra)
    await enqueue(
        session,
        environment,
        to=user.email,
        template="password_reset",
        context={"url": mailed, "expires_in_minutes": int(RESET_TTL.total_seconds() // 60)},
    )
    return IssuedReset(reset, token, url)


async def create_for_email(
    session: AsyncSession, box: SecretBox, environment: Environment, base_url: str, email: str
) -> IssuedReset:
    """The API's create: an unknown e-mail is a 404, as WorkOS answers (CONTRACT.md §6.7)."""
    user = await find_by_email(session, environment.id, email)
    if user is None:
        raise NotFound(f"User not found: '{email}'.")
    return await create_password_reset(session, box, environment, base_url, user)


async def get_password_reset(
    session: AsyncSession, box: SecretBox, environment: Environment, base_url: str, reset_id: str
) -> IssuedReset:
    reset = await session.scalar(
        select(PasswordReset).where(
            PasswordReset.id == reset_id, PasswordReset.environment_id == environment.id
        )
    )
    if reset is None:
        raise NotFound.entity("Password reset", reset_id)
    token = box.decrypt(reset.token_encrypted, reset.id).decode()
    return IssuedReset(reset, token, reset_url(environment, base_url, token))


async def find_by_token(session: AsyncSession, token: str) -> PasswordReset | None:
    """The reset behind `token`, in whichever environment it belongs to, or None."""
    if not token or len(token) > 512:
        return None
    token_hash = hash_secret(token)
    reset = await session.scalar(
        select(PasswordReset).where(PasswordReset.token_hash == token_hash)
    )
    if reset is None or not constant_time_equal(reset.token_hash, token_hash):
        return None
    return reset


def problem_with(reset: PasswordReset, now: dt.datetime | None = None) -> dict[str, str] | None:
    """Why `reset` can no longer be redeemed, as a `{code, message}`, or None."""
    if reset.used_at is not None:
        return {
            "code": "password_reset_token_already_used",
            "message": "This password reset link was already used. Request a new one.",
        }
    if (now or utcnow()) >= reset.expires_at:
        return {
            "code": "password_reset_token_expired",
            "message": "This password reset link has expired. Request a new one.",
        }
    return None


async def confirm_password_reset(
    session: AsyncSession, environment: Environment, token: str, new_password: str
) -> User:
    """Set the new password, verify the e-mail, end the user's sessions (setting on); single use."""
    reset = await find_by_token(session, token)
    if reset is None or reset.environment_id != environment.id:
        raise NotFound("Password reset token not found.")
    problem = problem_with(reset)
    if problem:
        raise PasswordResetError(problem["message"], [problem])
    try:
        passwords.check_strength(new_password)
    except BadRequest as weak:
        raise PasswordResetError(weak.message, weak.extra.get("errors", [])) from None
    # Nothing written yet: end the read so no connection (SQLite's one writer) waits on argon2.
    await session.commit()
    password_hash = await passwords.hash_password(new_password)
    now = utcnow()
    claimed = await session.execute(
        update(PasswordReset)
        .where(
            PasswordReset.id == reset.id,
            PasswordReset.used_at.is_(None),
            PasswordReset.expires_at > now,
        )
        .values(used_at=now, updated_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        problem = problem_with(reset, now) or {
            "code": "password_reset_token_already_used",
            "message": "This password reset link was already used. Request a new one.",
        }
        raise PasswordResetError(problem["message"], [problem])
    user = await get_user(session, environment.id, reset.user_id)
    user.password_hash = password_hash
    user.email_verified = True  # the link proved the address
    # Other links still out there would reset the password again: they end with this one.
    await session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now, updated_at=now)
    )
    if ends_sessions(environment):
        await end_user_sessions(session, environment.id, user.id, now)
    await session.flush()
    return user


async def end_user_sessions(
    session: AsyncSession, environment_id: str, user_id: str, now: dt.datetime
) -> None:
    """Revoke every session of the user (their refresh tokens stop working) and end the hosted
    pages' sessions, so a new sign-in needs the new password."""
    sessions_of_user = select(Session.id).where(
        Session.environment_id == environment_id, Session.user_id == user_id
    )
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.session_id.in_(sessions_of_user), RefreshToken.status != "revoked")
        .values(status="revoked", successor_encrypted=None)
    )
    await session.execute(
        update(Session)
        .where(Session.id.in_(sessions_of_user), Session.status == "active")
        .values(status="revoked", ended_at=now, updated_at=now)
    )
    await session.execute(
        update(HostedSession)
        .where(
            HostedSession.environment_id == environment_id,
            HostedSession.user_id == user_id,
            HostedSession.ended_at.is_(None),
        )
        .values(ended_at=now)
    )
