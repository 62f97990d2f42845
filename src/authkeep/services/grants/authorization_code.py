"""grant_type=authorization_code (RFC 6749 §4.1.3, RFC 7636 §4.6)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncEngine

from authkeep.crypto.secrets import hash_secret, new_id, random_token
from authkeep.errors import InvalidGrant
from authkeep.services import email_verification, invitation_acceptance
from authkeep.services.authorize import CodeReplayed, pkce_challenge, redeem_code
from authkeep.services.grants.email_verification import require_verified
from authkeep.services.grants.issue import GrantContext, GrantResult, new_session
from authkeep.services.sessions import (
    DEFAULT_MAX_SESSION_SECONDS,
    IssuedSession,
    revoke_sessions_of_code,
    session_setting,
)
from authkeep.services.tokens import TokenIssuer, claims_from_roles
from authkeep.store import code_exchange
from authkeep.store.models import Client, Environment, User, utcnow


async def grant(ctx: GrantContext) -> GrantResult:
    code = ctx.text("code")
    if code is None:
        raise InvalidGrant("code is required.")
    invitation_token = ctx.text("invitation_token")
    if invitation_token is not None:  # checked before the code is spent (§3.3)
        await invitation_acceptance.usable(ctx.session, ctx.environment.id, invitation_token)
    try:
        row = await redeem_code(
            ctx.session,
            ctx.environment,
            client_id=ctx.client.id,
            code=code,
            code_verifier=ctx.text("code_verifier"),
            client_authenticated=ctx.client_authenticated,
        )
    except CodeReplayed as replay:
        # RFC 6749 §4.1.2: a code used twice revokes what it was first exchanged for.
        if replay.session_id:
            await revoke_sessions_of_code(ctx.session, replay.session_id)
            await ctx.session.commit()
        raise
    user = await ctx.session.get(User, row.user_id)
    if user is None:
        raise InvalidGrant("The user of this code no longer exists.")
    organization_id = row.organization_id
    if invitation_token is not None:
        invitation = await invitation_acceptance.accept_token(
            ctx.session, ctx.environment, invitation_token, user
        )
        organization_id = invitation.organization_id or organization_id
    await require_verified(ctx, user, row.auth_method)
    result = await new_session(
        ctx,
        user,
        organization_id=organization_id,
        auth_method=row.auth_method,
        auth_time=row.auth_time,
        hosted_session_id=ctx.extra.get("hosted_session_id"),
    )
    row.session_id = result.issued.session.id
    return result


async def grant_in_one_step(
    engine: AsyncEngine,
    issuer: TokenIssuer,
    environment: Environment,
    client: Client,
    *,
    code: str,
    code_verifier: str | None,
    client_secret: str | None,
    ip_address: str | None,
    user_agent: str | None,
) -> GrantResult | None:
    """The common exchange without the ORM (store/code_exchange.py); None sends the request down
    `grant`, with nothing changed. Taken only when this worker holds the signing key, so nothing
    after the claim can fail."""
    key = issuer.cached_key(environment.id)
    if key is None:
        return None
    now = utcnow()
    max_seconds = session_setting(environment, "session_max_seconds", DEFAULT_MAX_SESSION_SECONDS)
    refresh_token = random_token(32)
    exchanged = await code_exchange.exchange(
        engine,
        code_exchange.Exchange(
            code_hash=hash_secret(code),
            environment_id=environment.id,
            client_id=client.id,
            now=now,
            challenge=pkce_challenge(code_verifier) if code_verifier else None,
            api_key_hash=hash_secret(client_secret) if client_secret else None,
            verification_required=email_verification.is_required(environment),
            session_id=new_id("session"),
            session_expires_at=now + dt.timedelta(seconds=max_seconds),
            ip_address=ip_address,
            user_agent=user_agent,
            refresh_token_id=new_id("refresh_token"),
            refresh_token_hash=hash_secret(refresh_token),
        ),
    )
    if exchanged is None:
        return None
    session = exchanged.session
    claims = claims_from_roles(session.organization_id, exchanged.roles)
    token = issuer.mint_with(key, environment, session, claims)
    issued = IssuedSession(session, refresh_token, exchanged.user, exchanged.roles)
    return GrantResult(exchanged.user, issued, token)
