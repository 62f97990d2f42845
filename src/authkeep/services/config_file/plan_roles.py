"""Plan an environment's permissions and roles (the `role`, `roles`, `permissions` claims)."""

from __future__ import annotations

from dataclasses import fields, replace

from sqlalchemy import func, select

from authkeep.crypto.secrets import new_id
from authkeep.services.config_file import model
from authkeep.services.config_file.changes import Context, Paths, Plan, PlanError, Step, show
from authkeep.store.models import MembershipRole, Permission, Role


def plan_permissions(
    plan: Plan, desired: model.EnvironmentConfig, current: model.EnvironmentConfig
) -> None:
    if desired.permissions is None:
        return
    now = {p.slug: p for p in current.permissions or ()}
    wanted = {p.slug for p in desired.permissions}
    for permission in desired.permissions:
        existing = now.get(permission.slug)
        if existing is None:
            plan.add("+", "permission", permission.slug, _save_permission(permission))
        elif existing != permission:
            plan.add(
                "~", "permission", _difference(existing, permission), _save_permission(permission)
            )
    if desired.exclusive_roles:
        for slug in now:
            if slug not in wanted:
                plan.add("-", "permission", slug, _delete_permission(slug))


async def plan_roles(
    plan: Plan,
    desired: model.EnvironmentConfig,
    current: model.EnvironmentConfig,
    context: Context,
    paths: Paths,
) -> None:
    if desired.roles is None:
        return
    now = {r.slug: r for r in current.roles or ()}
    known = {p.slug for p in (*(current.permissions or ()), *(desired.permissions or ()))}
    for index, role in enumerate(desired.roles):
        for slug in role.permissions:
            if slug not in known:
                raise PlanError(
                    f"{paths.at(paths.environment, f'roles[{index}].permissions')}: the "
                    f"permission {slug!r} is neither declared nor in the environment"
                )
    wanted = list(desired.roles)
    if any(role.default for role in wanted):
        # One default role: declaring one demotes the others (an emulator seed lists only some).
        declared = {role.slug for role in wanted}
        wanted += [
            replace(r, default=False) for r in now.values() if r.default and r.slug not in declared
        ]
    lowest = max((r.priority or 0 for r in now.values()), default=0)
    for role in wanted:
        existing = now.get(role.slug)
        if existing is None:
            if role.priority is None:
                lowest += 10
                role = replace(role, priority=lowest)
            detail = role.slug + (f" [{', '.join(role.permissions)}]" if role.permissions else "")
            plan.add("+", "role", detail, _save_role(role))
            continue
        if role.priority is None:  # an emulator seed's role: it adds, and keeps what it omits
            role = replace(
                role,
                priority=existing.priority,
                description=role.description or existing.description,
            )
        if role != existing:
            plan.add("~", "role", _difference(existing, role), _save_role(role))
    if not desired.exclusive_roles:
        return
    declared = {role.slug for role in desired.roles}
    for slug in now:
        if slug in declared:
            continue
        if context.environment is not None:
            held = await _members_holding(context, slug)
            if held:
                raise PlanError(
                    f"{paths.at(paths.environment, 'roles')}: the role {slug!r} is held by "
                    f"{held} membership(s); keep it in the file, or give them another role first"
                )
        plan.add("-", "role", slug, _delete_role(slug))


def _difference(
    old: model.RoleConfig | model.PermissionConfig, new: model.RoleConfig | model.PermissionConfig
) -> str:
    """`admin: name Admin -> Administrator; permissions [a] -> [a, b]`."""
    parts = []
    for item in fields(new):
        before, after = getattr(old, item.name), getattr(new, item.name)
        if item.name != "slug" and after != before:
            parts.append(f"{item.name} {show(before)} -> {show(after)}")
    return f"{new.slug}: " + "; ".join(parts)


async def _members_holding(context: Context, slug: str) -> int:
    assert context.environment is not None
    count = await context.session.scalar(
        select(func.count())
        .select_from(MembershipRole)
        .join(Role, Role.id == MembershipRole.role_id)
        .where(
            Role.environment_id == context.environment.id,
            Role.organization_id.is_(None),
            Role.slug == slug,
        )
    )
    return int(count or 0)


async def _permission_rows(context: Context) -> dict[str, Permission]:
    assert context.environment is not None
    rows = await context.session.scalars(
        select(Permission).where(Permission.environment_id == context.environment.id)
    )
    return {row.slug: row for row in rows}


async def _role_row(context: Context, slug: str) -> Role | None:
    assert context.environment is not None
    return await context.session.scalar(
        select(Role).where(
            Role.environment_id == context.environment.id,
            Role.organization_id.is_(None),
            Role.slug == slug,
        )
    )


def _save_permission(permission: model.PermissionConfig) -> Step:
    async def step(context: Context) -> None:
        assert context.environment is not None
        row = (await _permission_rows(context)).get(permission.slug)
        if row is None:
            row = Permission(
                id=new_id("perm"), environment_id=context.environment.id, slug=permission.slug
            )
            row.name, row.description = permission.name, permission.description
            context.session.add(row)
        row.name, row.description = permission.name, permission.description

    return step


def _delete_permission(slug: str) -> Step:
    async def step(context: Context) -> None:
        row = (await _permission_rows(context)).get(slug)
        if row is not None:
            await context.session.delete(row)

    return step


def _save_role(role: model.RoleConfig) -> Step:
    async def step(context: Context) -> None:
        assert context.environment is not None
        permissions = await _permission_rows(context)
        row = await _role_row(context, role.slug)
        if row is None:
            row = Role(
                id=new_id("role"),
                environment_id=context.environment.id,
                organization_id=None,
                slug=role.slug,
            )
            context.session.add(row)
        row.name, row.description = role.name, role.description
        row.is_default, row.priority = role.default, role.priority or 100
        row.permissions = [permissions[slug] for slug in role.permissions]

    return step


def _delete_role(slug: str) -> Step:
    async def step(context: Context) -> None:
        row = await _role_row(context, slug)
        if row is not None:
            await context.session.delete(row)

    return step
