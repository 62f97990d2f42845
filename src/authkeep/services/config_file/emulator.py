"""Seed files of the WorkOS emulator (`workos-emulate.config.yaml`, or `.json`).

The emulator has one environment, so a seed maps onto one development environment. What authkeep
serves is applied (users with passwords and pinned IDs, organizations with domains and members,
roles, permissions, API keys with their values); everything else is reported as skipped, by name.
Roles and permissions only add to the environment's, as the emulator's do.
"""

from __future__ import annotations

import json
from pathlib import Path as FilePath
from typing import Any

from authkeep.services.config_file import model
from authkeep.services.config_file.locate import Path, format_path
from authkeep.services.config_file.reader import ConfigError, Problem, Table
from authkeep.services.config_file.seed_reader import pinned_id
from authkeep.services.organizations import check_domain
from authkeep.services.validation import check_email, normalize_email

UNSUPPORTED = {
    "invitations": "invitations",
    "webhookEndpoints": "webhook endpoints",
    "connections": "SSO connections",
    "pipeConnections": "Pipes connections",
    "connectedAccounts": "Pipes connected accounts",
    "connectApplications": "Connect (M2M) applications",
    "jwtTemplate": "JWT templates",
    "errorHooks": "error hooks",
}
_USER_EXTRAS = {
    "impersonator": "impersonation",
    "oauth_provider": "linked OAuth identities",
    "oauth_idp_id": "linked OAuth identities",
    "totp": "TOTP factors",
}
_ORG_EXTRAS = {"entitlements": "entitlements", "groups": "groups"}


def load_emulator_seed(
    path: str | FilePath, environment: str, display: str | None = None
) -> model.Config:
    name = display or str(path)
    try:
        source = FilePath(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError([f"{name}: cannot read the file ({error.strerror})"]) from None
    data, lines = _parse(source, name, str(path).endswith(".json"))
    config = model.Config(name, {}, lines)
    problems: list[Problem] = []
    root = Table(data, (), problems)
    environment_config = _read(root, environment, config.skipped)
    if problems:
        located = sorted(
            (config.line_of(p.path), config.where(p.path), p.message) for p in problems
        )
        raise ConfigError([f"{where}: {message}" for _, where, message in located])
    config.environments[environment] = environment_config
    return config


def _parse(source: str, name: str, is_json: bool) -> tuple[dict[str, Any], dict[str, int]]:
    if is_json:
        try:
            data = json.loads(source)
        except json.JSONDecodeError as error:
            raise ConfigError([f"{name}:{error.lineno}: {error.msg}"]) from None
        lines: dict[str, int] = {}
    else:
        import yaml

        try:
            node = yaml.compose(source, Loader=yaml.SafeLoader)
            data = yaml.safe_load(source)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            line = f":{mark.line + 1}" if mark is not None else ""
            raise ConfigError(
                [f"{name}{line}: {getattr(error, 'problem', None) or error}"]
            ) from None
        lines = {}
        if node is not None:
            _yaml_lines(node, (), lines)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{name}: a seed file is a mapping of users, organizations, ..."])
    return data, lines


def _yaml_lines(node: Any, path: Path, lines: dict[str, int]) -> None:
    import yaml

    if path:
        lines.setdefault(format_path(path), node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            lines.setdefault(
                format_path((*path, str(key_node.value))), key_node.start_mark.line + 1
            )
            _yaml_lines(value_node, (*path, str(key_node.value)), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _yaml_lines(item, (*path, index), lines)


def _read(root: Table, environment: str, skipped: list[str]) -> model.EnvironmentConfig:
    for key_name, noun in UNSUPPORTED.items():
        value = root.raw(key_name)
        if value:
            count = f"{len(value)} " if isinstance(value, list) else ""
            skipped.append(f"{key_name}: {count}skipped (authkeep has no {noun} yet)")
    users = tuple(_user(item, skipped) for item in root.tables("users"))
    organizations = tuple(_organization(item, skipped) for item in root.tables("organizations"))
    permissions = []
    for item in root.tables("permissions"):
        slug = item.get("slug", str, required=True) or ""
        name = item.get("name", str) or slug
        permissions.append(model.PermissionConfig(slug, name, item.get("description", str)))
        item.finish()
    roles = tuple(role for item in root.tables("roles") if (role := _role(item, skipped)))
    api_keys = _api_keys(root, skipped)
    root.finish()
    seeded = {normalize_email(u.email) for u in users}
    for org_index, org in enumerate(organizations):
        for index, member in enumerate(org.memberships):
            if normalize_email(member.email) not in seeded:
                root.problem(
                    ("organizations", org_index, "memberships", index, "email"),
                    "must match a user defined in users",
                )
    return model.EnvironmentConfig(
        name=environment,
        kind="development",
        permissions=tuple(permissions),
        roles=roles,
        exclusive_roles=False,
        seed=model.Seed(users=users, organizations=organizations, api_keys=api_keys),
    )


def _skip_extras(table: Table, extras: dict[str, str], skipped: list[str]) -> None:
    for key_name, noun in extras.items():
        if table.raw(key_name) not in (None, False, []):
            skipped.append(
                f"{format_path((*table.path, key_name))}: {noun} skipped (not supported yet)"
            )


def _user(table: Table, skipped: list[str]) -> model.SeedUser:
    _skip_extras(table, _USER_EXTRAS, skipped)
    user = model.SeedUser(
        email=table.checked("email", check_email, required=True) or "",
        id=table.checked("id", pinned_id),
        password=table.get("password", str),
        first_name=table.get("first_name", str),
        last_name=table.get("last_name", str),
        name=table.get("name", str),
        email_verified=bool(table.get("email_verified", bool)),  # the emulator's default: false
        external_id=table.get("external_id", str),
        metadata=table.string_map("metadata"),
    )
    table.finish()
    return user


def _organization(table: Table, skipped: list[str]) -> model.SeedOrganization:
    _skip_extras(table, _ORG_EXTRAS, skipped)
    domains = []
    for item in table.tables("domains"):
        domain = item.checked("domain", check_domain, required=True)
        state = item.get("state", str) or "pending"  # the emulator's default
        if state not in model.DOMAIN_STATES:
            item.problem((*item.path, "state"), 'must be "verified" or "pending"')
        item.finish()
        if domain:
            domains.append(model.SeedDomain(domain, state))
    members = []
    for item in table.tables("memberships"):
        email = item.checked("email", check_email, required=True) or ""
        role = item.get("role", str)
        status = item.get("status", str) or "active"
        if status not in model.MEMBERSHIP_STATUSES:
            item.problem((*item.path, "status"), 'must be "active", "inactive" or "pending"')
        item.finish()
        members.append(model.SeedMembership(email, (role,) if role else (), status))
    organization = model.SeedOrganization(
        name=table.get("name", str, required=True) or "",
        id=table.checked("id", pinned_id),
        external_id=table.get("external_id", str),
        domains=tuple(domains),
        memberships=tuple(members),
        metadata=table.string_map("metadata"),
        allow_profiles_outside_organization=bool(
            table.get("allow_profiles_outside_organization", bool)
        ),
    )
    table.finish()
    return organization


def _role(table: Table, skipped: list[str]) -> model.RoleConfig | None:
    slug = table.get("slug", str, required=True) or ""
    role = model.RoleConfig(
        slug=slug,
        name=table.get("name", str) or slug,
        description=table.get("description", str),
        permissions=tuple(sorted(set(table.strings("permissions") or ()))),
        default=bool(table.get("is_default_role", bool)),
    )
    kind = table.get("type", str)
    organization = table.get("organization_id", str)
    table.get("priority", int)  # authkeep orders roles itself; an added role comes last
    table.finish()
    if kind == "OrganizationRole" or organization:
        skipped.append(
            f"{format_path(table.path)}: organization role {slug!r} skipped (not supported yet)"
        )
        return None
    return role


def _api_keys(root: Table, skipped: list[str]) -> tuple[model.SeedApiKey, ...]:
    raw = root.raw("apiKeys")
    if isinstance(raw, dict):  # the legacy allow-list: value -> {environment}
        return tuple(model.SeedApiKey("seed", _key_value(root, ("apiKeys", v), v)) for v in raw)
    keys = []
    for index, item in enumerate(root.tables("apiKeys") if isinstance(raw, list) else []):
        name = item.get("name", str, required=True) or "seed"
        value = item.get("value", str)
        for extra in ("organization", "user_id", "permissions", "expires_at", "environment"):
            item.raw(extra)
        item.finish()
        if value is None:
            skipped.append(
                f"apiKeys[{index}]: {name!r} skipped: without a value it would be an "
                "organization API key, which authkeep has not yet"
            )
            continue
        keys.append(model.SeedApiKey(name, _key_value(item, (*item.path, "value"), value)))
        skipped.append(
            f"apiKeys[{index}]: {name!r} applied as an environment API key; its owner and "
            "permissions are skipped"
        )
    return tuple(keys)


def _key_value(table: Table, path: Path, value: str) -> str:
    if not value.startswith("sk_") or len(value) < 8:
        table.problem(path, "an API key value starts with sk_ and has at least 8 characters")
    return value
