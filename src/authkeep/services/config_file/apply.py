"""Make one environment match its file, in the caller's transaction; and read it back as a file."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from authkeep.crypto.keys import SecretBox
from authkeep.services import environments
from authkeep.services.config_file import model, state
from authkeep.services.config_file.changes import Context, Paths, Plan, PlanError, Step
from authkeep.services.config_file.plan_roles import plan_permissions, plan_roles
from authkeep.services.config_file.plan_seed import plan_seed
from authkeep.services.config_file.plan_settings import plan_settings, plan_uris
from authkeep.store.models import Client, Environment


async def plan_environment(
    context: Context,
    desired: model.EnvironmentConfig,
    paths: Paths,
    access_token_ttl: int = 300,
) -> Plan:
    """The changes that make the environment match `desired`; nothing is written yet."""
    session = context.session
    environment = await session.scalar(select(Environment).where(Environment.name == desired.name))
    context.environment = environment
    plan = Plan(desired.name, desired.kind, is_new=environment is None)
    if environment is None:
        current = state.fresh_environment(desired.name, desired.kind, access_token_ttl)
        if desired.client_id and await session.get(Client, desired.client_id) is not None:
            raise PlanError(
                f"{paths.at(paths.environment, 'client_id')}: {desired.client_id} is the client "
                "of another environment"
            )
        detail = f"({desired.kind})" + (f" client {desired.client_id}" if desired.client_id else "")
        plan.add("+", "environment", f"{desired.name} {detail}", _create(desired, access_token_ttl))
    else:
        current = await state.read_environment(session, environment)
        if environment.kind != desired.kind:
            raise PlanError(
                f"{paths.at(paths.environment, 'kind')}: {desired.name} is a {environment.kind} "
                f"environment; its kind cannot change (its API keys are sk_"
                f"{'test' if environment.kind == 'development' else 'live'}_...)"
            )
        if desired.client_id and desired.client_id != current.client_id:
            raise PlanError(
                f"{paths.at(paths.environment, 'client_id')}: the environment's client is "
                f"{current.client_id}; a client ID never changes (write that one, or none)"
            )
    if desired.seed is not None and desired.kind != "development":
        raise PlanError(
            f"{paths.at(paths.environment, 'seed')}: seed data is only for development environments"
        )
    plan_settings(plan, desired, current)
    plan_uris(plan, desired, current)
    plan_permissions(plan, desired, current)
    await plan_roles(plan, desired, current, context, paths)
    if desired.seed is not None:
        await plan_seed(plan, desired.seed, context, paths)
    return plan


def _create(desired: model.EnvironmentConfig, access_token_ttl: int) -> Step:
    async def step(context: Context) -> None:
        made = await environments.create_environment(
            context.session,
            context.box,
            desired.name,
            desired.kind,
            access_token_ttl=access_token_ttl,
            client_id=desired.client_id,
        )
        context.environment = made.environment
        context.secrets += [
            f"environment {desired.name} created:",
            f"  client_id  {made.client.id}",
            f"  api_key    {made.api_key}",
            "Store the API key now: it is not shown again.",
        ]

    return step


async def apply_environment(
    session: AsyncSession,
    box: SecretBox,
    desired: model.EnvironmentConfig,
    paths: Paths,
    *,
    dry_run: bool = False,
    access_token_ttl: int = 300,
) -> tuple[Plan, list[str]]:
    """Plan, then (unless `dry_run`) run every step; returns the plan and the secrets to show."""
    context = Context(session, box)
    plan = await plan_environment(context, desired, paths, access_token_ttl)
    if not dry_run:
        await plan.run(context)
    return plan, context.secrets


async def export_environments(
    session: AsyncSession, names: list[str] | None = None
) -> list[model.EnvironmentConfig]:
    """Environments as files describe them; development ones with their users and organizations."""
    rows = await environments.list_environments(session)
    if names:
        found = {row.name: row for row in rows}
        missing = [name for name in names if name not in found]
        if missing:
            raise PlanError(f"no environment named {missing[0]!r}")
        rows = [found[name] for name in names]
    return [
        await state.read_environment(session, row, with_seed=row.kind == "development")
        for row in rows
    ]
