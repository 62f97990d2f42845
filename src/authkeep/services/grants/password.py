"""grant_type=password: e-mail and password, for confidential clients only."""

from __future__ import annotations

from authkeep.errors import InvalidClient, OAuthError
from authkeep.services import invitation_acceptance
from authkeep.services.grants.email_verification import require_verified
from authkeep.services.grants.issue import GrantContext, GrantResult, new_session
from authkeep.services.grants.organization_selection import selection_required
from authkeep.services.signin import check_password, choose_organization


async def grant(ctx: GrantContext) -> GrantResult:
    if not ctx.client_authenticated:
        raise InvalidClient("The password grant needs client_secret.")
    email, password = ctx.text("email"), ctx.fields.get("password")
    if email is None or not isinstance(password, str) or not password:
        raise OAuthError("email and password are required.")
    invitation_token = ctx.text("invitation_token")
    if invitation_token is not None:
        await invitation_acceptance.usable(ctx.session, ctx.environment.id, invitation_token)
    user = await check_password(
        ctx.session, ctx.limits, ctx.environment, email, password, ctx.ip_address
    )
    if invitation_token is not None:
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
