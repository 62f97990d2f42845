"""grant_type=password: e-mail and password, for confidential clients only.

argon2id takes ~20 ms on its own threads; around it, a sign-in is three database steps. Before
it, one read: the client secret's environment and the account. While it runs, everything a
successful sign-in needs that does not depend on the password being right: the organization,
the token's claims, the new session and its signed access token, and on PostgreSQL the write
itself (the sign-in time, the session, its refresh token) in a transaction left open. After it,
that transaction's COMMIT, or on SQLite one short write. The read and the write skip the ORM
(store/sign_in.py). An unknown e-mail prepares nothing and a wrong password throws the
preparation away (the open transaction is rolled back after the answer has gone): the answer
and its timing are the same either way, and nothing of a refused attempt is ever visible.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from authkeep.crypto.secrets import hash_secret, new_id
from authkeep.errors import InvalidClient, OAuthError
from authkeep.services import email_verification, invitation_acceptance
from authkeep.services.environments import environment_id_for_api_key
from authkeep.services.grants.email_verification import require_verified
from authkeep.services.grants.issue import GrantContext, GrantResult, new_session
from authkeep.services.grants.organization_selection import selection_required
from authkeep.services.sessions import IssuedSession, add_session, build_session
from authkeep.services.signin import (
    OrganizationChoice,
    check_password,
    choose_organization,
    confirm_password,
)
from authkeep.services.tokens import claims_from_roles, organization_claims
from authkeep.services.users import find_by_email
from authkeep.services.validation import normalize_email
from authkeep.store import sign_in
from authkeep.store.models import Organization, Session, User, utcnow

WRONG_SECRET = "client_secret is not an API key of this client's environment."  # noqa: S105


@dataclass
class _Prepared:
    choice: OrganizationChoice
    issued: IssuedSession | None = None  # None when a step-up comes first
    access_token: str | None = None
    # PostgreSQL: the sign-in already written, in a transaction that waits for the password
    record: sign_in.OpenRecord | None = None
    recorded_at: dt.datetime | None = None


# Open records whose password did not match are rolled back here, after the answer has gone:
# a wrong password must take as long as an unknown e-mail, which writes nothing.
_rollbacks: set[asyncio.Task[None]] = set()


def _roll_back_later(prepared: _Prepared | None) -> None:
    if prepared is None or prepared.record is None:
        return
    task = asyncio.get_running_loop().create_task(prepared.record.rollback())
    _rollbacks.add(task)
    task.add_done_callback(_rollbacks.discard)


async def grant(ctx: GrantContext) -> GrantResult:
    secret = ctx.client_secret
    if not secret:
        raise InvalidClient("The password grant needs client_secret.")
    email, password = ctx.text("email"), ctx.fields.get("password")
    reads = ctx.reads or ctx.session
    if email is None or not isinstance(password, str) or not password:
        await _check_secret(ctx, reads, secret)
        raise OAuthError("email and password are required.")
    invitation_token = ctx.text("invitation_token")
    if invitation_token is not None:
        await _check_secret(ctx, reads, secret)
        return await _with_invitation(ctx, email, password, invitation_token)
    environment = ctx.environment
    ctx.limits.check(environment.id, email, ctx.ip_address)
    user = await _account(ctx, reads, email, secret)
    started = asyncio.Event()
    preparing = (
        asyncio.create_task(_prepare(ctx, reads, user, started)) if user is not None else None
    )
    prepared = None
    try:
        new_hash = await confirm_password(
            ctx.limits, environment, email, password, ctx.ip_address, user, started
        )
        prepared = await preparing if preparing is not None else None
    except BaseException:
        if preparing is not None:
            preparing.cancel()
            with contextlib.suppress(BaseException):
                prepared = await preparing
        _roll_back_later(prepared)
        raise
    assert user is not None and prepared is not None  # confirm_password raised otherwise
    issued, token = prepared.issued, prepared.access_token
    if prepared.record is not None and prepared.recorded_at is not None:
        assert issued is not None and token is not None
        if await prepared.record.commit(new_hash, user.id):
            issued.session.created_at = issued.session.updated_at = prepared.recorded_at
            user.last_sign_in_at = user.updated_at = prepared.recorded_at
            return GrantResult(user, issued, token)
    if issued is None or token is None:
        # Rare: a step-up (e-mail verification, organization selection) writes with the user.
        attached = await ctx.session.get(User, user.id)
        assert attached is not None
        if new_hash is not None:
            attached.password_hash = new_hash
        await require_verified(ctx, attached, "password")
        raise await selection_required(ctx, attached, prepared.choice.choices, "password")
    now = utcnow()
    await _record(ctx, user, new_hash, issued, now)
    user.last_sign_in_at = user.updated_at = now
    return GrantResult(user, issued, token)


async def _check_secret(ctx: GrantContext, reads: AsyncSession, secret: str) -> None:
    if await environment_id_for_api_key(reads, secret) != ctx.environment.id:
        raise InvalidClient(WRONG_SECRET)
    ctx.client_authenticated = True


async def _account(ctx: GrantContext, reads: AsyncSession, email: str, secret: str) -> User | None:
    """Check the client secret and find the account, in one read where the database allows."""
    found = None
    if ctx.engine is not None:
        found = await sign_in.lookup(
            ctx.engine, ctx.environment.id, normalize_email(email), hash_secret(secret)
        )
    if found is None:
        await _check_secret(ctx, reads, secret)
        user = await find_by_email(reads, ctx.environment.id, email)
        await reads.commit()  # nothing is held while argon2 runs
        return user
    if found.key_environment_id != ctx.environment.id:
        raise InvalidClient(WRONG_SECRET)
    ctx.client_authenticated = True
    if found.user is None:
        return None
    fields = dict(found.user)
    fields["metadata_"] = fields.pop("metadata")
    # A detached row: what is written back goes through _record.
    return User(environment_id=ctx.environment.id, password_hash=found.password_hash, **fields)


async def _prepare(
    ctx: GrantContext, reads: AsyncSession, user: User, hashing: asyncio.Event
) -> _Prepared:
    """What a successful sign-in of `user` will answer, read and built while argon2 runs: from
    the moment a hash thread has the work, so that it does not wait for the interpreter lock
    while this runs."""
    await hashing.wait()
    environment_id = ctx.environment.id
    found = None
    if ctx.engine is not None:
        found = await sign_in.organizations(ctx.engine, environment_id, user.id)
    if found is None:
        choice = await choose_organization(reads, environment_id, user.id)
    else:
        listed = [Organization(id=id_, name=name) for id_, name in found]
        choice = OrganizationChoice(listed[0].id if len(listed) == 1 else None, listed)
    if choice.needs_selection or (
        not user.email_verified and email_verification.is_required(ctx.environment)
    ):
        return _Prepared(choice)
    rows = None
    if ctx.engine is not None and choice.organization_id is not None:
        rows = await sign_in.roles(ctx.engine, environment_id, user.id, choice.organization_id)
    if rows is None:
        claims = await organization_claims(reads, environment_id, user.id, choice.organization_id)
    else:
        claims = claims_from_roles(choice.organization_id, rows)
    key = await ctx.issuer.signing_key(reads, ctx.environment.id)
    issued = build_session(
        ctx.environment,
        client_id=ctx.client.id,
        user_id=user.id,
        organization_id=choice.organization_id,
        auth_method="password",
        auth_time=utcnow(),
        ip_address=ctx.ip_address,
        user_agent=ctx.user_agent,
    )
    token = ctx.issuer.mint_with(key, ctx.environment, issued.session, claims)
    now = utcnow()
    record = None
    if ctx.engine is not None:
        record = await sign_in.open_record(
            ctx.engine,
            now=now,
            user_id=user.id,
            session=_session_columns(issued, now),
            refresh_token_id=new_id("refresh_token"),
            refresh_token_hash=hash_secret(issued.refresh_token),
        )
    return _Prepared(choice, issued, token, record, now)


def _session_columns(issued: IssuedSession, now: dt.datetime) -> dict[str, object]:
    row = issued.session
    assert isinstance(row, Session)
    return {
        "id": row.id,
        "environment_id": row.environment_id,
        "client_id": row.client_id,
        "user_id": row.user_id,
        "organization_id": row.organization_id,
        "status": row.status,
        "auth_method": row.auth_method,
        "auth_time": row.auth_time,
        "ip_address": row.ip_address,
        "user_agent": row.user_agent,
        "expires_at": row.expires_at,
        "last_active_at": row.last_active_at,
        "hosted_session_id": row.hosted_session_id,
        "created_at": now,
        "updated_at": now,
    }


async def _record(
    ctx: GrantContext, user: User, new_hash: str | None, issued: IssuedSession, now: dt.datetime
) -> None:
    """The sign-in time (and a rehashed password), the session and its refresh token."""
    row = issued.session
    if ctx.engine is not None and await sign_in.record(
        ctx.engine,
        now=now,
        user_id=user.id,
        new_password_hash=new_hash,
        session=_session_columns(issued, now),
        refresh_token_id=new_id("refresh_token"),
        refresh_token_hash=hash_secret(issued.refresh_token),
    ):
        row.created_at = row.updated_at = now
        return
    values: dict[str, object] = {"last_sign_in_at": now, "updated_at": now}
    if new_hash is not None:
        values["password_hash"] = new_hash
    await ctx.session.execute(update(User).where(User.id == user.id).values(**values))
    await add_session(ctx.session, issued)


async def _with_invitation(
    ctx: GrantContext, email: str, password: str, invitation_token: str
) -> GrantResult:
    await invitation_acceptance.usable(ctx.session, ctx.environment.id, invitation_token)
    user = await check_password(
        ctx.session, ctx.limits, ctx.environment, email, password, ctx.ip_address
    )
    # §3.3: the invitation's organization wins.
    invitation = await invitation_acceptance.accept_token(
        ctx.session, ctx.environment, invitation_token, user
    )
    if invitation.organization_id:
        return await new_session(
            ctx, user, organization_id=invitation.organization_id, auth_method="password"
        )
    await require_verified(ctx, user, "password")
    choice = await choose_organization(ctx.session, ctx.environment.id, user.id)
    if choice.needs_selection:
        raise await selection_required(ctx, user, choice.choices, "password")
    return await new_session(
        ctx, user, organization_id=choice.organization_id, auth_method="password"
    )
