"""grant_type=refresh_token: rotation, and an organization switch when `organization_id` names
another organization (repeating the current one is a no-op, CONTRACT.md §0.3 rule 12)."""

from __future__ import annotations

from authkeep.errors import InvalidGrant
from authkeep.services.grants.issue import GrantContext, GrantResult, mint
from authkeep.services.sessions import refresh


async def grant(ctx: GrantContext) -> GrantResult:
    token = ctx.text("refresh_token") or ctx.extra.get("refresh_cookie")
    if not token:
        raise InvalidGrant("refresh_token is required.")
    issued = await refresh(
        ctx.session,
        ctx.box,
        ctx.environment,
        client_id=ctx.client.id,
        refresh_token=token,
        organization_id=ctx.text("organization_id"),
    )
    assert issued.user is not None
    return await mint(ctx, issued.user, issued)
