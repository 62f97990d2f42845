"""grant_type=authorization_code (RFC 6749 §4.1.3, RFC 7636 §4.6)."""

from __future__ import annotations

from authkeep.errors import InvalidGrant
from authkeep.services import invitation_acceptance
from authkeep.services.authorize import CodeReplayed, redeem_code
from authkeep.services.grants.email_verification import require_verified
from authkeep.services.grants.issue import GrantContext, GrantResult, new_session
from authkeep.services.sessions import revoke_sessions_of_code
from authkeep.store.models import User


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
