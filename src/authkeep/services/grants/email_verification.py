"""grant_type=urn:workos:oauth:grant-type:email-verification:code (§3.2), and the 403
`email_verification_required` that leads to it (§3.6) from the other grants."""

from __future__ import annotations

from authkeep.errors import AuthkeepError, InvalidClient, OAuthError
from authkeep.services import email_verification
from authkeep.services.grants.issue import GrantContext, GrantResult, new_session
from authkeep.services.grants.organization_selection import InvalidPendingToken, selection_required
from authkeep.services.magic_auth import GRANT_ERRORS, OneTimeCodeError
from authkeep.services.signin import choose_organization, create_pending, take_pending
from authkeep.store.models import User, utcnow

GRANT_TYPE = "urn:workos:oauth:grant-type:email-verification:code"


class EmailVerificationRequired(AuthkeepError):
    status = 403
    code = "email_verification_required"
    default_message = "Email ownership must be verified before authentication."


async def require_verified(ctx: GrantContext, user: User, auth_method: str) -> None:
    """In an environment that requires it, stop an unverified user here: send a code and answer
    403 with a pending token for this grant. Nothing else of the sign-in is consumed."""
    if user.email_verified or not email_verification.is_required(ctx.environment):
        return
    verification = await email_verification.start(ctx.session, ctx.box, ctx.environment, user)
    token = await create_pending(
        ctx.session,
        ctx.environment.id,
        ctx.client.id,
        user.id,
        auth_method,
        ctx.ip_address,
        ctx.user_agent,
    )
    await ctx.session.commit()  # the code, its mail and the token outlive this 403
    raise EmailVerificationRequired(
        None,
        pending_authentication_token=token,
        email=user.email,
        email_verification_id=verification.id,
    )


async def grant(ctx: GrantContext) -> GrantResult:
    if not ctx.client_authenticated:
        raise InvalidClient("This grant needs client_secret.")
    token, code = ctx.text("pending_authentication_token"), ctx.text("code")
    if token is None or code is None:
        raise OAuthError("code and pending_authentication_token are required.")
    pending = await take_pending(ctx.session, ctx.environment.id, ctx.client.id, token)
    if pending is None:
        raise InvalidPendingToken()
    user = await ctx.session.get(User, pending.user_id)
    assert user is not None
    outcome = await email_verification.check_code(ctx.session, user, code)
    if outcome is not email_verification.Outcome.ACCEPTED:
        raise OneTimeCodeError(*GRANT_ERRORS[outcome])
    pending.used_at = utcnow()
    choice = await choose_organization(ctx.session, ctx.environment.id, user.id)
    if choice.needs_selection:
        raise await selection_required(ctx, user, choice.choices, pending.auth_method)
    return await new_session(
        ctx,
        user,
        organization_id=choice.organization_id,
        auth_method=pending.auth_method,
        auth_time=pending.auth_time,
    )
