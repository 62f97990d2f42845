"""Sessions minted for tests and local development, without the sign-in pages.

A minted session is a real one: a session row, a refresh token that rotates through
`POST /user_management/authenticate`, and an access token signed by the environment's current key
with the claims the token endpoint gives. Only development environments mint (`authkeep token
mint`, `POST /_authkeep/dev/sessions`); production environments refuse.

Organization and role rule: minting never creates or changes a membership. `organization_id`
needs an active membership of the user; its claims are the membership's roles and permissions.
`role` needs an organization too, and must be one of the roles available there (the
environment's, or the organization's own): it replaces the role claims of this access token only,
with that role's permissions. A refresh reads the membership again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from authkeep.errors import AuthkeepError, UnprocessableEntity, ValidationFailed
from authkeep.services.environments import client_for
from authkeep.services.grants.issue import AUTHENTICATION_METHODS
from authkeep.services.organizations import get_organization
from authkeep.services.roles import list_organization_roles
from authkeep.services.sessions import create_session, has_active_membership
from authkeep.services.tokens import TokenIssuer, organization_claims
from authkeep.services.users import find_by_email, get_user
from authkeep.store.models import Environment, Permission, RolePermission, User, utcnow

AUTH_METHOD = "external_auth"  # a session the app's own code created (CONTRACT.md §5.1)
USER_AGENT = "authkeep minted session"
MAX_TTL = 24 * 3600


class DevelopmentOnly(AuthkeepError):
    status = 403
    code = "development_environment_required"
    default_message = (
        "Sessions are minted only in development environments; this one is a production "
        "environment. Sign in through AuthKit instead."
    )


@dataclass
class MintRequest:
    user: str  # a user ID (user_...) or an e-mail address
    organization_id: str | None = None
    role: str | None = None
    ttl: int | None = None  # access-token lifetime in seconds; default the environment's


@dataclass
class MintedSession:
    user: User
    session_id: str
    organization_id: str | None
    access_token: str
    refresh_token: str
    claims: dict[str, Any]


def check_development(environment: Environment) -> None:
    if environment.kind != "development":
        raise DevelopmentOnly()


async def _find_user(session: AsyncSession, environment_id: str, key: str) -> User:
    if key.startswith("user_"):
        return await get_user(session, environment_id, key)
    user = await find_by_email(session, environment_id, key)
    if user is None:
        raise UnprocessableEntity(
            "user_not_found", f"No user with the e-mail address {key!r} in this environment."
        )
    return user


async def _role_claims(
    session: AsyncSession, environment: Environment, organization_id: str, slug: str
) -> dict[str, Any]:
    available_roles = await list_organization_roles(session, environment.id, organization_id)
    roles = {r.slug: r for r in available_roles}
    role = roles.get(slug)
    if role is None:
        available = ", ".join(sorted(roles)) or "none"
        raise UnprocessableEntity(
            "invalid_role", f"Role not found: {slug!r} (available: {available}).", role_slug=slug
        )
    permissions = await session.scalars(
        select(Permission.slug)
        .join(RolePermission, RolePermission.permission_id == Permission.id)
        .where(RolePermission.role_id == role.id)
    )
    return {"role": slug, "roles": [slug], "permissions": sorted(permissions)}


async def mint_session(
    session: AsyncSession, environment: Environment, issuer: TokenIssuer, request: MintRequest
) -> MintedSession:
    check_development(environment)
    if request.ttl is not None and not 1 <= request.ttl <= MAX_TTL:
        raise ValidationFailed.field("ttl", "invalid", f"ttl is 1 to {MAX_TTL} seconds.")
    if request.role is not None and request.organization_id is None:
        raise ValidationFailed.field(
            "role", "organization_required", "A role applies in an organization: name one too."
        )
    user = await _find_user(session, environment.id, request.user)
    organization_id = request.organization_id
    if organization_id is not None:
        await get_organization(session, environment.id, organization_id)
        if not await has_active_membership(session, environment.id, user.id, organization_id):
            raise UnprocessableEntity(
                "organization_membership_not_found",
                f"{user.email} is not an active member of {organization_id}; minting creates no "
                "membership. Add one first (POST /user_management/organization_memberships).",
            )
    client = await client_for(session, environment.id)
    issued = await create_session(
        session,
        environment,
        client_id=client.id,
        user_id=user.id,
        organization_id=organization_id,
        auth_method=AUTH_METHOD,
        auth_time=utcnow(),
        ip_address=None,
        user_agent=USER_AGENT,
    )
    claims = await organization_claims(session, environment.id, user.id, organization_id)
    if request.role is not None and organization_id is not None:
        claims.update(await _role_claims(session, environment, organization_id, request.role))
    token = await issuer.mint(session, environment, issued.session, claims, request.ttl)
    return MintedSession(
        user, issued.session.id, organization_id, token, issued.refresh_token, claims
    )


def _timestamp(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def sealed_session(minted: MintedSession, cookie_password: str) -> str:
    """The `wos-session` cookie value authkit-nextjs and `@workos-inc/node` would write (an iron
    `Fe26.2` seal of their camelCase session object), for `WORKOS_COOKIE_PASSWORD`."""
    user = minted.user
    data: dict[str, Any] = {
        "accessToken": minted.access_token,
        "refreshToken": minted.refresh_token,
        "user": {
            "object": "user",
            "id": user.id,
            "email": user.email,
            "emailVerified": user.email_verified,
            "name": user.name,
            "firstName": user.first_name,
            "lastName": user.last_name,
            "profilePictureUrl": user.profile_picture_url,
            "lastSignInAt": _timestamp(user.last_sign_in_at),
            "locale": user.locale,
            "createdAt": _timestamp(user.created_at),
            "updatedAt": _timestamp(user.updated_at),
            "externalId": user.external_id,
            "metadata": user.metadata_ or {},
        },
        "authenticationMethod": AUTHENTICATION_METHODS.get(AUTH_METHOD, "Password"),
    }
    if minted.organization_id is not None:
        data["organizationId"] = minted.organization_id
    # The client library (and its httpx) loads only when a sealed session is asked for.
    from authkeep.integrations.sealing import PasswordError, seal_data

    try:
        return seal_data(data, cookie_password)
    except PasswordError as error:
        raise ValidationFailed.field("cookie_password", "invalid", str(error)) from None
