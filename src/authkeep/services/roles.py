"""Roles and permissions (CONTRACT.md §6.9). A new environment starts with `member` (default) and
`admin`, as WorkOS environments do."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from authkeep.crypto.secrets import new_id
from authkeep.errors import UnprocessableEntity
from authkeep.store.models import Role

DEFAULT_ROLES = (
    ("admin", "Admin", "Can manage the organization.", 10, False),
    ("member", "Member", "The default role of a new member.", 20, True),
)


async def create_default_roles(session: AsyncSession, environment_id: str) -> None:
    for slug, name, description, priority, is_default in DEFAULT_ROLES:
        session.add(
            Role(
                id=new_id("role"),
                environment_id=environment_id,
                organization_id=None,
                slug=slug,
                name=name,
                description=description,
                priority=priority,
                is_default=is_default,
            )
        )
    await session.flush()


async def list_environment_roles(session: AsyncSession, environment_id: str) -> list[Role]:
    return list(
        await session.scalars(
            select(Role)
            .where(Role.environment_id == environment_id, Role.organization_id.is_(None))
            .order_by(Role.priority, Role.slug)
        )
    )


async def list_organization_roles(
    session: AsyncSession, environment_id: str, organization_id: str
) -> list[Role]:
    """Environment roles plus the organization's own, in priority order."""
    return list(
        await session.scalars(
            select(Role)
            .where(
                Role.environment_id == environment_id,
                or_(Role.organization_id.is_(None), Role.organization_id == organization_id),
            )
            .order_by(Role.priority, Role.slug)
        )
    )


async def default_role(session: AsyncSession, environment_id: str) -> Role:
    role = await session.scalar(
        select(Role).where(
            Role.environment_id == environment_id,
            Role.organization_id.is_(None),
            Role.is_default.is_(True),
        )
    )
    if role is None:
        raise UnprocessableEntity("invalid_role", "This environment has no default role.")
    return role


async def resolve_roles(
    session: AsyncSession, environment_id: str, organization_id: str, slugs: list[str]
) -> list[Role]:
    """Roles for a membership by slug; an unknown slug is `invalid_role` (422)."""
    if not slugs:
        return [await default_role(session, environment_id)]
    available = {
        r.slug: r for r in await list_organization_roles(session, environment_id, organization_id)
    }
    # An organization role shadows an environment role of the same slug.
    unknown = [slug for slug in slugs if slug not in available]
    if unknown:
        raise UnprocessableEntity(
            "invalid_role",
            f"Role not found: {', '.join(repr(s) for s in unknown)}.",
            role_slug=unknown[0],
        )
    unique = list(dict.fromkeys(slugs))
    return sorted((available[s] for s in unique), key=lambda r: (r.priority, r.slug))
