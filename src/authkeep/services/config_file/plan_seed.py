"""Plan the seed of a development environment: users, organizations, memberships, API keys.

Seed data is created when missing and left alone when present, so applying a seed never
overwrites what someone changed through the API. A pinned ID is honoured or refused, never
replaced by another.
"""

from __future__ import annotations

from sqlalchemy import select

from authkeep.crypto.secrets import has_id_shape, hash_secret, new_id
from authkeep.services import memberships, organizations, users
from authkeep.services.config_file import model
from authkeep.services.config_file.changes import Context, Paths, Plan, PlanError, Step
from authkeep.services.validation import normalize_email
from authkeep.store.models import ApiKey, Organization, OrganizationMembership, User


async def plan_seed(plan: Plan, seed: model.Seed, context: Context, paths: Paths) -> None:
    environment_id = context.environment.id if context.environment else None
    present_users: set[str] = set()
    for index, user in enumerate(seed.users):
        where = paths.at(paths.seed, f"users[{index}]")
        existing = await _existing_user(context, environment_id, user, where)
        if existing is None:
            plan.add("+", "user", _with_id(user.email, user.id), _create_user(user))
        else:
            present_users.add(normalize_email(user.email))
        _note_id_shape(plan, user.id, "user")
    seeded_emails = {normalize_email(u.email) for u in seed.users}
    for index, organization in enumerate(seed.organizations):
        where = paths.at(paths.seed, f"organizations[{index}]")
        existing_org = await _existing_organization(context, environment_id, organization, where)
        if existing_org is None:
            domains = ", ".join(d.domain for d in organization.domains)
            detail = _with_id(organization.name, organization.id) + (
                f" [{domains}]" if domains else ""
            )
            plan.add("+", "organization", detail, _create_organization(organization))
        _note_id_shape(plan, organization.id, "org")
        for position, member in enumerate(organization.memberships):
            email = normalize_email(member.email)
            user_row = None
            if environment_id is not None:
                user_row = await users.find_by_email(context.session, environment_id, email)
            if user_row is None and email not in seeded_emails:
                raise PlanError(
                    f"{where}.memberships[{position}].email: {member.email} is neither seeded "
                    "in this file nor a user of the environment"
                )
            if (
                existing_org is not None
                and user_row is not None
                and await _membership_exists(context, existing_org.id, user_row.id)
            ):
                continue
            roles = f" [{', '.join(member.roles)}]" if member.roles else ""
            plan.add(
                "+",
                "membership",
                f"{member.email} in {organization.name}{roles}",
                _create_membership(organization, member),
            )
    for key in seed.api_keys:
        found = await context.session.scalar(
            select(ApiKey).where(ApiKey.key_hash == hash_secret(key.value))
        )
        if found is not None and found.environment_id != environment_id:
            raise PlanError(f"API key {key.name!r}: this value is a key of another environment")
        if found is None:
            plan.add("+", "api_key", f"{key.name} ({key.value[:12]}…)", _create_api_key(key))


def _with_id(label: str, pinned: str | None) -> str:
    return f"{label} ({pinned})" if pinned else label


def _note_id_shape(plan: Plan, pinned: str | None, prefix: str) -> None:
    if pinned and not has_id_shape(pinned, prefix):
        plan.notes.append(
            f"{pinned} is not shaped like {prefix}_<ULID>: list endpoints refuse it as a "
            "pagination cursor (before/after)"
        )


async def _existing_user(
    context: Context, environment_id: str | None, user: model.SeedUser, where: str
) -> User | None:
    if user.id is not None:
        row = await context.session.get(User, user.id)
        if row is not None:
            if row.environment_id != environment_id:
                raise PlanError(f"{where}.id: {user.id} is a user of another environment")
            return row
    if environment_id is None:
        return None
    row = await users.find_by_email(context.session, environment_id, user.email)
    if row is not None and user.id is not None and row.id != user.id:
        raise PlanError(
            f"{where}.id: {user.email} already exists as {row.id}, not {user.id}; remove the id "
            "from the file, or start from an empty environment (authkeep dev --reset)"
        )
    return row


async def _existing_organization(
    context: Context, environment_id: str | None, org: model.SeedOrganization, where: str
) -> Organization | None:
    if org.id is not None:
        row = await context.session.get(Organization, org.id)
        if row is not None and row.environment_id != environment_id:
            raise PlanError(f"{where}.id: {org.id} is an organization of another environment")
        return row
    return None if environment_id is None else await _find_organization(context, org)


async def _find_organization(context: Context, org: model.SeedOrganization) -> Organization | None:
    """By pinned ID, else external ID, else name: how a seed names the organization it means."""
    assert context.environment is not None
    if org.id is not None:
        return await context.session.get(Organization, org.id)
    column = Organization.external_id if org.external_id else Organization.name
    value = org.external_id or org.name
    return await context.session.scalar(
        select(Organization)
        .where(Organization.environment_id == context.environment.id, column == value)
        .order_by(Organization.id)
        .limit(1)
    )


async def _membership_exists(context: Context, organization_id: str, user_id: str) -> bool:
    found = await context.session.scalar(
        select(OrganizationMembership.id).where(
            OrganizationMembership.organization_id == organization_id,
            OrganizationMembership.user_id == user_id,
        )
    )
    return found is not None


def _create_user(user: model.SeedUser) -> Step:
    async def step(context: Context) -> None:
        assert context.environment is not None
        fields: dict[str, object] = {
            "email": user.email,
            "password": user.password,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "name": user.name,
            "email_verified": user.email_verified,
            "external_id": user.external_id,
            "metadata": user.metadata,
        }
        await users.create_user(context.session, context.environment.id, fields, user_id=user.id)

    return step


def _create_organization(org: model.SeedOrganization) -> Step:
    async def step(context: Context) -> None:
        assert context.environment is not None
        fields: dict[str, object] = {
            "name": org.name,
            "external_id": org.external_id,
            "metadata": org.metadata,
            "allow_profiles_outside_organization": org.allow_profiles_outside_organization,
            "domain_data": [{"domain": d.domain, "state": d.state} for d in org.domains],
        }
        await organizations.create_organization(
            context.session, context.environment.id, fields, organization_id=org.id
        )

    return step


def _create_membership(org: model.SeedOrganization, member: model.SeedMembership) -> Step:
    async def step(context: Context) -> None:
        assert context.environment is not None
        organization = await _find_organization(context, org)
        user = await users.find_by_email(context.session, context.environment.id, member.email)
        assert organization is not None and user is not None
        row = await memberships.create_membership(
            context.session,
            context.environment,
            user.id,
            organization.id,
            role_slugs=list(member.roles) or None,
        )
        # A seed states the membership as it is; the API's status rules are for transitions.
        row.status = member.status

    return step


def _create_api_key(key: model.SeedApiKey) -> Step:
    async def step(context: Context) -> None:
        assert context.environment is not None
        context.session.add(
            ApiKey(
                id=new_id("key"),
                environment_id=context.environment.id,
                name=key.name,
                key_hash=hash_secret(key.value),
                display_prefix=key.value[:12],
            )
        )

    return step
