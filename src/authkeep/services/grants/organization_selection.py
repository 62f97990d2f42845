"""grant_type=urn:workos:oauth:grant-type:organization-selection (§3.2), and the 403 that leads
to it (§3.6)."""

from __future__ import annotations

from typing import Any

from authkeep.errors import AuthkeepError, InvalidClient, OAuthError
from authkeep.services.grants.issue import GrantContext, GrantResult, new_session
from authkeep.services.organizations import get_organization
from authkeep.services.sessions import OrganizationMembershipNotFound, has_active_membership
from authkeep.services.signin import create_pending, take_pending
from authkeep.store.models import Organization, User, utcnow

GRANT_TYPE = "urn:workos:oauth:grant-type:organization-selection"


class OrganizationSelectionRequired(AuthkeepError):
    status = 403
    code = "organization_selection_required"
    default_message = "The user must choose an organization to finish their authentication."


class InvalidPendingToken(AuthkeepError):
    status = 400
    code = "invalid_pending_authentication_token"
    default_message = "The pending authentication token is invalid or has expired."


async def selection_required(
    ctx: GrantContext, user: User, organizations: list[Organization], auth_method: str
) -> OrganizationSelectionRequired:
    from authkeep.api.users import user_json  # the error body embeds the wire user

    token = await create_pending(
        ctx.session,
        ctx.environment.id,
        ctx.client.id,
        user.id,
        auth_method,
        ctx.ip_address,
        ctx.user_agent,
    )
    # The pending token must outlive this failed request.
    await ctx.session.commit()
    extra: dict[str, Any] = {
        "pending_authentication_token": token,
        "organizations": [{"id": o.id, "name": o.name} for o in organizations],
        "user": user_json(user),
    }
    return OrganizationSelectionRequired(None, **extra)


async def grant(ctx: GrantContext) -> GrantResult:
    if not ctx.client_authenticated:
        raise InvalidClient("This grant needs client_secret.")
    token, organization_id = ctx.text("pending_authentication_token"), ctx.text("organization_id")
    if token is None or organization_id is None:
        raise OAuthError("pending_authentication_token and organization_id are required.")
    pending = await take_pending(ctx.session, ctx.environment.id, ctx.client.id, token)
    if pending is None:
        raise InvalidPendingToken()
    await get_organization(ctx.session, ctx.environment.id, organization_id)  # 404 if unknown
    if not await has_active_membership(
        ctx.session, ctx.environment.id, pending.user_id, organization_id
    ):
        raise OrganizationMembershipNotFound(
            f"The user is not an active member of organization '{organization_id}'."
        )
    user = await ctx.session.get(User, pending.user_id)
    assert user is not None
    pending.used_at = utcnow()
    return await new_session(
        ctx,
        user,
        organization_id=organization_id,
        auth_method=pending.auth_method,
        auth_time=pending.auth_time,
    )
