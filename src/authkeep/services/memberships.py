"""Organization memberships (CONTRACT.md §6.4)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from authkeep.crypto.secrets import new_id
from authkeep.errors import BadRequest, Conflict, NotFound, UnprocessableEntity
from authkeep.services import roles as roles_service
from authkeep.services.organizations import get_organization
from authkeep.services.users import get_user
from authkeep.store.models import Environment, OrganizationMembership, utcnow
from authkeep.store.pagination import Page, PageRequest, paginate

STATUSES = ("active", "inactive", "pending")


async def get_membership(
    session: AsyncSession, environment_id: str, membership_id: str
) -> OrganizationMembership:
    row = await session.scalar(
        select(OrganizationMembership).where(
            OrganizationMembership.id == membership_id,
            OrganizationMembership.environment_id == environment_id,
        )
    )
    if row is None:
        raise NotFound.entity("Organization membership", membership_id)
    return row


async def list_memberships(
    session: AsyncSession,
    environment_id: str,
    page: PageRequest,
    user_id: str | None,
    organization_id: str | None,
    statuses: list[str] | None,
) -> Page[OrganizationMembership]:
    if not user_id and not organization_id:
        raise BadRequest(
            "missing_user_id_or_organization_id", "Send user_id, organization_id or both."
        )
    query = select(OrganizationMembership).where(
        OrganizationMembership.environment_id == environment_id,
        OrganizationMembership.status.in_(statuses or ["active"]),
    )
    if user_id:
        query = query.where(OrganizationMembership.user_id == user_id)
    if organization_id:
        query = query.where(OrganizationMembership.organization_id == organization_id)
    return await paginate(session, query, OrganizationMembership.id, page)


def _requested_slugs(
    environment: Environment, role_slug: str | None, role_slugs: list[str] | None
) -> list[str]:
    if role_slug is not None and role_slugs is not None:
        raise UnprocessableEntity(
            "invalid_request_parameters", "role_slug and role_slugs are mutually exclusive."
        )
    slugs = [role_slug] if role_slug is not None else list(role_slugs or [])
    if len(set(slugs)) > 1 and not (environment.settings or {}).get("multiple_roles"):
        raise UnprocessableEntity(
            "multiple_roles_not_enabled", "Multiple roles are not enabled for this environment."
        )
    return slugs


async def create_membership(
    session: AsyncSession,
    environment: Environment,
    user_id: str,
    organization_id: str,
    role_slug: str | None = None,
    role_slugs: list[str] | None = None,
) -> OrganizationMembership:
    slugs = _requested_slugs(environment, role_slug, role_slugs)
    await get_user(session, environment.id, user_id)
    await get_organization(session, environment.id, organization_id)
    roles = await roles_service.resolve_roles(session, environment.id, organization_id, slugs)
    existing = await session.scalar(
        select(OrganizationMembership).where(
            OrganizationMembership.user_id == user_id,
            OrganizationMembership.organization_id == organization_id,
        )
    )
    if existing is not None:
        if existing.status == "pending":
            raise BadRequest(
                "cannot_reactivate_pending_organization_membership",
                "This membership is pending an invitation; accept the invitation instead.",
            )
        if existing.status == "active":
            raise Conflict(
                "The user is already a member of this organization.",
                code="organization_membership_already_exists",
            )
        existing.status = "active"
        existing.roles = roles
        await session.flush()
        return existing
    membership = OrganizationMembership(
        id=new_id("om"),
        environment_id=environment.id,
        user_id=user_id,
        organization_id=organization_id,
        status="active",
        custom_attributes={},
        roles=roles,
    )
    session.add(membership)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(
            "The user is already a member of this organization.",
            code="organization_membership_already_exists",
        ) from None
    await session.refresh(membership)
    return membership


async def update_membership(
    session: AsyncSession,
    environment: Environment,
    membership_id: str,
    role_slug: str | None,
    role_slugs: list[str] | None,
) -> OrganizationMembership:
    membership = await get_membership(session, environment.id, membership_id)
    if role_slug is not None or role_slugs is not None:
        slugs = _requested_slugs(environment, role_slug, role_slugs)
        membership.roles = await roles_service.resolve_roles(
            session, environment.id, membership.organization_id, slugs
        )
        # A change of roles touches only the join table; the membership itself changed too.
        membership.updated_at = utcnow()
        await session.flush()
    return membership


async def set_status(
    session: AsyncSession, environment_id: str, membership_id: str, status: str
) -> OrganizationMembership:
    membership = await get_membership(session, environment_id, membership_id)
    if membership.status == "pending":
        action = "deactivate" if status == "inactive" else "reactivate"
        raise BadRequest(
            f"cannot_{action}_pending_organization_membership",
            f"A pending membership cannot be {action}d; it becomes active when the invitation "
            "is accepted.",
        )
    if membership.status != status:
        membership.status = status
        await session.flush()
    return membership


async def delete_membership(session: AsyncSession, environment_id: str, membership_id: str) -> None:
    membership = await get_membership(session, environment_id, membership_id)
    await session.delete(membership)
    await session.flush()
