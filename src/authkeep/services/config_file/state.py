"""An environment as it is in the database, in the terms of `authkeep.toml`.

Export renders this; apply compares the file with it. Values the database leaves at their
defaults read as those defaults, so a file that states a default plans no change.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from authkeep.services import environments
from authkeep.services.config_file import model
from authkeep.services.roles import DEFAULT_ROLES
from authkeep.services.sessions import DEFAULT_IDLE_SECONDS, DEFAULT_MAX_SESSION_SECONDS
from authkeep.store.models import (
    Environment,
    Organization,
    OrganizationMembership,
    Permission,
    Role,
    User,
)

DEFAULT_SIGN_IN_METHODS = ("password",)


def sign_in_values(
    environment_kind: str, access_token_ttl: int, issuer: str | None, settings: dict[str, Any]
) -> dict[str, Any]:
    """The scalar settings of an environment, by their names in the file."""
    branding = dict(settings.get("branding") or {})
    return {
        "kind": environment_kind,
        "homepage_url": settings.get("homepage_url"),
        "issuer": issuer or "",
        "access_token_ttl": access_token_ttl,
        "session_max_age": int(settings.get("session_max_seconds", DEFAULT_MAX_SESSION_SECONDS)),
        "session_idle_timeout": int(settings.get("session_idle_seconds", DEFAULT_IDLE_SECONDS)),
        "signup": str(settings.get("signup") or "open").replace("_", "-"),
        "email_verification_required": bool(settings.get("email_verification_required", False)),
        "sign_in_methods": tuple(settings.get("auth_methods") or DEFAULT_SIGN_IN_METHODS),
        "multiple_roles": bool(settings.get("multiple_roles", False)),
        "end_sessions_on_password_reset": bool(
            settings.get("end_sessions_on_password_reset", True)
        ),
        "branding": model.Branding(
            branding.get("name"), branding.get("logo_url"), branding.get("color")
        ),
    }


def fresh_environment(name: str, kind: str, access_token_ttl: int) -> model.EnvironmentConfig:
    """What `create_environment` makes, before the file's changes."""
    values = sign_in_values(kind, access_token_ttl, None, {})
    roles = tuple(
        model.RoleConfig(slug, title, description, (), is_default, priority)
        for slug, title, description, priority, is_default in DEFAULT_ROLES
    )
    return model.EnvironmentConfig(
        name=name,
        redirect_uris=(),
        logout_uris=(),
        cors_origins=(),
        permissions=(),
        roles=tuple(sorted(roles, key=lambda r: (r.priority or 0, r.slug))),
        **values,
    )


async def read_environment(
    session: AsyncSession, environment: Environment, *, with_seed: bool = False
) -> model.EnvironmentConfig:
    client = await environments.client_for(session, environment.id)
    redirects = await environments.list_redirect_uris(session, environment.id)
    default = [row.uri for row in redirects if row.is_default]
    others = sorted(row.uri for row in redirects if not row.is_default)
    logouts = await environments.list_logout_uris(session, environment.id)
    origins = await environments.list_cors_origins(session, environment.id)
    values = sign_in_values(
        environment.kind,
        environment.access_token_ttl,
        environment.issuer,
        dict(environment.settings or {}),
    )
    return model.EnvironmentConfig(
        name=environment.name,
        client_id=client.id,
        redirect_uris=(*default, *others),
        logout_uris=tuple(sorted(row.uri for row in logouts)),
        cors_origins=tuple(sorted(row.origin for row in origins)),
        permissions=tuple(await read_permissions(session, environment.id)),
        roles=tuple(await read_roles(session, environment.id)),
        seed=await read_seed(session, environment.id) if with_seed else None,
        **values,
    )


async def read_permissions(
    session: AsyncSession, environment_id: str
) -> list[model.PermissionConfig]:
    rows = await session.scalars(
        select(Permission)
        .where(Permission.environment_id == environment_id, Permission.system.is_(False))
        .order_by(Permission.slug)
    )
    return [model.PermissionConfig(p.slug, p.name, p.description) for p in rows]


async def read_roles(session: AsyncSession, environment_id: str) -> list[model.RoleConfig]:
    rows = await session.scalars(
        select(Role)
        .where(Role.environment_id == environment_id, Role.organization_id.is_(None))
        .order_by(Role.priority, Role.slug)
    )
    return [
        model.RoleConfig(
            role.slug,
            role.name,
            role.description,
            tuple(p.slug for p in role.permissions),
            role.is_default,
            role.priority,
        )
        for role in rows
    ]


async def read_seed(session: AsyncSession, environment_id: str) -> model.Seed:
    users = await session.scalars(
        select(User).where(User.environment_id == environment_id).order_by(User.email_normalized)
    )
    organizations = await session.scalars(
        select(Organization)
        .where(Organization.environment_id == environment_id)
        .order_by(Organization.name, Organization.id)
    )
    memberships = await session.scalars(
        select(OrganizationMembership).where(
            OrganizationMembership.environment_id == environment_id
        )
    )
    members: dict[str, list[model.SeedMembership]] = {}
    for row in memberships:
        members.setdefault(row.organization_id, []).append(
            model.SeedMembership(row.user.email, tuple(r.slug for r in row.roles), row.status)
        )
    return model.Seed(
        users=tuple(
            model.SeedUser(
                email=user.email,
                id=user.id,
                first_name=user.first_name,
                last_name=user.last_name,
                name=user.name,
                email_verified=user.email_verified,
                external_id=user.external_id,
                metadata=dict(user.metadata_ or {}),
            )
            for user in users
        ),
        organizations=tuple(
            model.SeedOrganization(
                name=org.name,
                id=org.id,
                external_id=org.external_id,
                domains=tuple(
                    model.SeedDomain(d.domain, d.state)
                    for d in sorted(org.domains, key=lambda d: d.domain)
                ),
                memberships=tuple(sorted(members.get(org.id, []), key=lambda m: m.email.lower())),
                metadata=dict(org.metadata_ or {}),
                allow_profiles_outside_organization=org.allow_profiles_outside_organization,
            )
            for org in organizations
        ),
    )
