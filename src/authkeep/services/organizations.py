"""Organizations and their domains (CONTRACT.md §6.2, §6.3)."""

from __future__ import annotations

import re
import secrets
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from authkeep.crypto.secrets import new_id
from authkeep.errors import BadRequest, Conflict, NotFound, ValidationFailed
from authkeep.services.validation import check_external_id, check_metadata, merge_metadata
from authkeep.store.models import Organization, OrganizationDomain
from authkeep.store.pagination import Page, PageRequest, paginate

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
DOMAIN_STATES = ("pending", "verified")


def check_domain(domain: str, field: str = "domain") -> str:
    domain = domain.strip().lower().rstrip(".")
    if not _DOMAIN.match(domain):
        raise ValidationFailed.field(field, "invalid_domain", f"{domain!r} is not a domain name.")
    return domain


async def get_organization(session: AsyncSession, environment_id: str, org_id: str) -> Organization:
    organization = await session.scalar(
        select(Organization).where(
            Organization.id == org_id, Organization.environment_id == environment_id
        )
    )
    if organization is None:
        raise NotFound.entity("Organization", org_id)
    return organization


async def get_organization_by_external_id(
    session: AsyncSession, environment_id: str, external_id: str
) -> Organization:
    organization = await session.scalar(
        select(Organization).where(
            Organization.external_id == external_id, Organization.environment_id == environment_id
        )
    )
    if organization is None:
        raise NotFound.entity("Organization", external_id)
    return organization


async def list_organizations(
    session: AsyncSession,
    environment_id: str,
    page: PageRequest,
    domains: list[str] | None = None,
    search: str | None = None,
) -> Page[Organization]:
    query = select(Organization).where(Organization.environment_id == environment_id)
    if domains:
        query = query.where(
            Organization.id.in_(
                select(OrganizationDomain.organization_id).where(
                    OrganizationDomain.environment_id == environment_id,
                    OrganizationDomain.domain.in_([d.strip().lower() for d in domains]),
                )
            )
        )
    if search:
        escaped = search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(func.lower(Organization.name).like(f"%{escaped}%", escape="\\"))
    return await paginate(session, query, Organization.id, page)


def _domain_entries(fields: dict[str, Any]) -> list[tuple[str, str]] | None:
    """`domain_data` wins over the deprecated `domains` string list; None when neither is sent."""
    if fields.get("domain_data") is not None:
        entries = []
        for index, item in enumerate(fields["domain_data"]):
            state = item.get("state") or "pending"
            if state not in DOMAIN_STATES:
                raise ValidationFailed.field(
                    f"domain_data[{index}].state", "invalid_state", "state is pending or verified."
                )
            entries.append((check_domain(item["domain"], f"domain_data[{index}].domain"), state))
        return entries
    if fields.get("domains") is not None:
        return [(check_domain(d, "domains"), "pending") for d in fields["domains"]]
    return None


async def _replace_domains(
    session: AsyncSession, organization: Organization, entries: list[tuple[str, str]]
) -> None:
    wanted = dict(entries)
    if len(wanted) != len(entries):
        raise ValidationFailed.field("domain_data", "duplicate_domain", "A domain is listed twice.")
    taken = await session.scalars(
        select(OrganizationDomain.domain).where(
            OrganizationDomain.environment_id == organization.environment_id,
            OrganizationDomain.domain.in_(list(wanted)),
            OrganizationDomain.organization_id != organization.id,
        )
    )
    clash = list(taken)
    if clash:
        raise Conflict(
            f"The domain {clash[0]} belongs to another organization.", code="domain_already_exists"
        )
    current = {d.domain: d for d in organization.domains}
    for domain, row in current.items():
        if domain not in wanted:
            organization.domains.remove(row)
    for domain, state in wanted.items():
        if domain in current:
            current[domain].state = state
        else:
            organization.domains.append(_new_domain(organization, domain, state))


def _new_domain(organization: Organization, domain: str, state: str) -> OrganizationDomain:
    return OrganizationDomain(
        id=new_id("org_domain"),
        environment_id=organization.environment_id,
        organization_id=organization.id,
        domain=domain,
        state=state,
        verification_strategy="dns" if state == "pending" else "manual",
        verification_token=secrets.token_urlsafe(18),
        verification_prefix=f"authkeep-domain-verification-{organization.id[-6:].lower()}",
    )


async def _ensure_external_id_free(
    session: AsyncSession, environment_id: str, external_id: str | None, exclude_id: str | None
) -> None:
    if external_id is None:
        return
    other = await session.scalar(
        select(Organization.id).where(
            Organization.environment_id == environment_id, Organization.external_id == external_id
        )
    )
    if other is not None and other != exclude_id:
        raise BadRequest(
            "external_id_already_used", f"The external ID {external_id!r} is already in use."
        )


async def create_organization(
    session: AsyncSession,
    environment_id: str,
    fields: dict[str, Any],
    *,
    organization_id: str | None = None,
) -> Organization:
    """A new organization; `organization_id` pins the ID, as seeds may."""
    external_id = check_external_id(fields.get("external_id"))
    await _ensure_external_id_free(session, environment_id, external_id, None)
    organization = Organization(
        id=organization_id or new_id("org"),
        environment_id=environment_id,
        name=fields["name"],
        external_id=external_id,
        metadata_=check_metadata(dict(fields.get("metadata") or {})),
        allow_profiles_outside_organization=bool(fields.get("allow_profiles_outside_organization")),
        domains=[],
    )
    session.add(organization)
    await _replace_domains(session, organization, _domain_entries(fields) or [])
    await _flush(session)
    return organization


async def update_organization(
    session: AsyncSession, environment_id: str, org_id: str, fields: dict[str, Any]
) -> Organization:
    organization = await get_organization(session, environment_id, org_id)
    if fields.get("name") is not None:
        organization.name = fields["name"]
    if "external_id" in fields:
        external_id = check_external_id(fields["external_id"])
        await _ensure_external_id_free(session, environment_id, external_id, organization.id)
        organization.external_id = external_id
    if "metadata" in fields:
        organization.metadata_ = merge_metadata(organization.metadata_ or {}, fields["metadata"])
    if fields.get("allow_profiles_outside_organization") is not None:
        organization.allow_profiles_outside_organization = fields[
            "allow_profiles_outside_organization"
        ]
    if "stripe_customer_id" in fields:
        organization.stripe_customer_id = fields["stripe_customer_id"]
    entries = _domain_entries(fields)
    if entries is not None:
        await _replace_domains(session, organization, entries)
    await _flush(session)
    return organization


async def delete_organization(session: AsyncSession, environment_id: str, org_id: str) -> None:
    organization = await get_organization(session, environment_id, org_id)
    await session.delete(organization)
    await session.flush()


async def _flush(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError:
        # A concurrent writer took the same domain or external ID between check and write.
        raise Conflict("The domain or external ID is already in use.", code="conflict") from None


# Domains ----------------------------------------------------------------------------------


async def get_domain(
    session: AsyncSession, environment_id: str, domain_id: str
) -> OrganizationDomain:
    row = await session.scalar(
        select(OrganizationDomain).where(
            OrganizationDomain.id == domain_id, OrganizationDomain.environment_id == environment_id
        )
    )
    if row is None:
        raise NotFound.entity("Organization domain", domain_id)
    return row


async def create_domain(
    session: AsyncSession, environment_id: str, organization_id: str, domain: str
) -> OrganizationDomain:
    organization = await get_organization(session, environment_id, organization_id)
    domain = check_domain(domain)
    taken = await session.scalar(
        select(OrganizationDomain.id).where(
            OrganizationDomain.environment_id == environment_id, OrganizationDomain.domain == domain
        )
    )
    if taken is not None:
        raise Conflict(f"The domain {domain} already exists.", code="domain_already_exists")
    row = _new_domain(organization, domain, "pending")
    organization.domains.append(row)
    await _flush(session)
    return row


async def delete_domain(session: AsyncSession, environment_id: str, domain_id: str) -> None:
    row = await get_domain(session, environment_id, domain_id)
    await session.delete(row)
    await session.flush()
