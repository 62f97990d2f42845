"""grant_type=urn:workos:oauth:grant-type:magic-auth:code (§3.2): e-mail and the code e-mailed
to it, for confidential clients. Success marks the e-mail verified, so no verification step
follows; the organization is chosen as for a password."""

from __future__ import annotations

from authkeep.errors import InvalidClient, OAuthError
from authkeep.services import invitation_acceptance
from authkeep.services.grants.issue import GrantContext, GrantResult, new_session
from authkeep.services.grants.organization_selection import selection_required
from authkeep.services.magic_auth import redeem
from authkeep.services.signin import choose_organization

GRANT_TYPE = "urn:workos:oauth:grant-type:magic-auth:code"


async def grant(ctx: GrantContext) -> GrantResult:
    if not ctx.client_authenticated:
        raise InvalidClient("The magic-auth grant needs client_secret.")
    email, code = ctx.text("email"), ctx.text("code")
    if email is None or code is None:
        raise OAuthError("email and code are required.")
    invitation_token = ctx.text("invitation_token")
    if invitation_token is not None:  # checked before the code is spent
        await invitation_acceptance.usable(ctx.session, ctx.environment.id, invitation_token)
    user = await redeem(ctx.session, ctx.environment, email, code)
    if invitation_token is not None:
        invitation = await invitation_acceptance.accept_token(
            ctx.session, ctx.environment, invitation_token, user
        )
        if invitation.organization_id:  # §3.3: the invitation's organization wins
            return await new_session(
                ctx, user, organization_id=invitation.organization_id, auth_method="magic_code"
            )
    choice = await choose_organization(ctx.session, ctx.environment.id, user.id)
    if choice.needs_selection:
        raise await selection_required(ctx, user, choice.choices, "magic_code")
    return await new_session(
        ctx, user, organization_id=choice.organization_id, auth_method="magic_code"
    )
