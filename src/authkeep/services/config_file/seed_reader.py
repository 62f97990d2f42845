"""The `seed` table of a development environment: users, organizations and their members."""

from __future__ import annotations

from authkeep.services.config_file import model
from authkeep.services.config_file.reader import Table
from authkeep.services.organizations import check_domain
from authkeep.services.validation import check_email, check_external_id, normalize_email


def pinned_id(value: str) -> str:
    if not model.PINNED_ID.match(value):
        raise ValueError("an ID is 1 to 64 letters, digits, '_' or '-'")
    return value


def read_seed(table: Table, declared_roles: set[str] | None, roles_path: str) -> model.Seed:
    users = tuple(_user(item) for item in table.tables("users"))
    _unique(table, "users", [normalize_email(u.email) for u in users], "e-mail address", "email")
    _unique(table, "users", [u.id for u in users], "ID", "id")
    organizations = tuple(
        _organization(item, declared_roles, roles_path) for item in table.tables("organizations")
    )
    _unique(table, "organizations", [o.id for o in organizations], "ID", "id")
    _unique(table, "organizations", [o.name for o in organizations], "name", "name")
    table.finish()
    return model.Seed(users=users, organizations=organizations)


def _unique(table: Table, key: str, values: list[str | None], noun: str, field: str) -> None:
    seen: set[str] = set()
    for index, value in enumerate(values):
        if value is not None and value in seen:
            table.problem((*table.path, key, index, field), f"this {noun} is declared twice")
        if value is not None:
            seen.add(value)


def _user(table: Table) -> model.SeedUser:
    user = model.SeedUser(
        email=table.checked("email", check_email, required=True) or "",
        id=table.checked("id", pinned_id),
        password=table.get("password", str),
        first_name=table.get("first_name", str),
        last_name=table.get("last_name", str),
        name=table.get("name", str),
        email_verified=table.get("email_verified", bool) is not False,
        external_id=table.checked("external_id", lambda v: check_external_id(v) or v),
        metadata=table.string_map("metadata"),
    )
    table.finish()
    return user


def _domain(table: Table, index: int, raw: object) -> model.SeedDomain | None:
    path = (*table.path, "domains", index)
    if isinstance(raw, str):
        domain = table.check(path, raw, check_domain)
        return None if domain is None else model.SeedDomain(domain)
    if not isinstance(raw, dict):
        table.problem(path, 'must be a domain name or { domain = "...", state = "pending" }')
        return None
    item = Table(raw, path, table.problems)
    domain = item.checked("domain", check_domain, required=True)
    state = item.get("state", str) or "verified"
    if state not in model.DOMAIN_STATES:
        item.problem((*path, "state"), "is verified or pending")
    item.finish()
    return None if domain is None else model.SeedDomain(domain, state)


def _membership(
    table: Table, declared_roles: set[str] | None, roles_path: str
) -> model.SeedMembership:
    """A member by e-mail: a user seeded here or one that already exists (apply checks)."""
    email = table.checked("email", check_email, required=True) or ""
    roles = table.strings("roles") or ()
    status = table.get("status", str) or "active"
    table.finish()
    if status not in model.MEMBERSHIP_STATUSES:
        table.problem((*table.path, "status"), f"is one of: {', '.join(model.MEMBERSHIP_STATUSES)}")
    for index, role in enumerate(roles):
        if declared_roles is not None and role not in declared_roles:
            table.problem(
                (*table.path, "roles", index), f"{role!r} is not declared in {roles_path}"
            )
    return model.SeedMembership(email, tuple(dict.fromkeys(roles)), status)


def _organization(
    table: Table, declared_roles: set[str] | None, roles_path: str
) -> model.SeedOrganization:
    name = table.get("name", str, required=True) or ""
    domains = [
        domain
        for index, raw in enumerate(table.array("domains") or [])
        if (domain := _domain(table, index, raw)) is not None
    ]
    memberships = [
        _membership(item, declared_roles, roles_path) for item in table.tables("memberships")
    ]
    organization = model.SeedOrganization(
        name=name,
        id=table.checked("id", pinned_id),
        external_id=table.checked("external_id", lambda v: check_external_id(v) or v),
        domains=tuple(domains),
        memberships=tuple(memberships),
        metadata=table.string_map("metadata"),
        allow_profiles_outside_organization=bool(
            table.get("allow_profiles_outside_organization", bool)
        ),
    )
    _unique(
        table, "memberships", [normalize_email(m.email) for m in memberships], "member", "email"
    )
    _unique(table, "domains", [d.domain for d in domains], "domain", "domain")
    table.finish()
    return organization
