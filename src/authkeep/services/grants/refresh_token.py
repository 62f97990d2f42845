"""grant_type=refresh_token: rotation, and an organization switch when `organization_id` names
another organization (repeating the current one is a no-op, CONTRACT.md §0.3 rule 12)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from authkeep.crypto.keys import SecretBox
from authkeep.errors import InvalidGrant
from authkeep.services.grants.issue import GrantContext, GrantResult, mint
from authkeep.services.sessions import refresh, refresh_in_one_step
from authkeep.services.tokens import TokenIssuer, claims_from_roles
from authkeep.store.models import Client, Environment


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


async def grant_in_one_step(
    engine: AsyncEngine,
    box: SecretBox,
    issuer: TokenIssuer,
    environment: Environment,
    client: Client,
    *,
    refresh_token: str,
    organization_id: str | None,
    client_secret: str | None,
) -> GrantResult | None:
    """The common refresh without the ORM; None sends the request down `grant`, unchanged.

    Taken only when this worker holds the signing key, so nothing after the rotation can fail.
    """
    key = issuer.cached_key(environment.id)
    if key is None:
        return None
    issued = await refresh_in_one_step(
        engine,
        box,
        environment,
        client_id=client.id,
        refresh_token=refresh_token,
        organization_id=organization_id,
        client_secret=client_secret,
    )
    if issued is None:
        return None
    assert issued.user is not None and issued.roles is not None
    claims = claims_from_roles(issued.session.organization_id, issued.roles)
    token = issuer.mint_with(key, environment, issued.session, claims)
    return GrantResult(issued.user, issued, token)
