"""grant_type=password: e-mail and password, for confidential clients only."""

from __future__ import annotations

from authkeep.errors import InvalidClient, OAuthError
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
    user = await check_password(
        ctx.session, ctx.limits, ctx.environment, email, password, ctx.ip_address
    )
    await require_verified(ctx, user, "password")
    choice = await choose_organization(ctx.session, ctx.environment.id, user.id)
    if choice.needs_selection:
        raise await selection_required(ctx, user, choice.choices, "password")
    return await new_session(
        ctx, user, organization_id=choice.organization_id, auth_method="password"
    )
