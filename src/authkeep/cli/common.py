"""What every command shares: the target database, one-transaction runs, error reporting."""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from authkeep.config import Settings, load_settings
from authkeep.devdata import DEFAULT_DATA_DIR, DEV_ENVIRONMENT, DataDir

T = TypeVar("T")


class CliError(Exception):
    """A problem the user can fix; printed without a traceback."""


@dataclass
class Target:
    settings: Settings
    data_dir: DataDir | None


def server_imports() -> None:
    try:
        import sqlalchemy  # noqa: F401
        import starlette  # noqa: F401
    except ImportError:
        raise CliError(
            'The server is not installed. Install it with: pip install "authkeep[server]"'
        ) from None


def resolve_target(args: argparse.Namespace, *, require_existing: bool = True) -> Target:
    database_url = getattr(args, "database_url", None) or os.environ.get("AUTHKEEP_DATABASE_URL")
    if database_url:
        settings = load_settings(database_url=database_url)
        if len(settings.secret_key) < 32:
            raise CliError("Set AUTHKEEP_SECRET_KEY (the deployment secret) to use this database.")
        return Target(settings, None)
    data_dir = DataDir(getattr(args, "data_dir", None) or DEFAULT_DATA_DIR)
    if require_existing and not data_dir.exists():
        raise CliError(
            f"No authkeep dev data in {data_dir.path}. Start `authkeep dev` there first, or set "
            "AUTHKEEP_DATABASE_URL for a production database."
        )
    data_dir.ensure()
    settings = load_settings(database_url=data_dir.database_url, secret_key=data_dir.secret_key())
    return Target(settings, data_dir)


def run_db(settings: Settings, work: Callable[[Any, Any], Awaitable[T]]) -> T:
    """Run `work(session, box)` in one transaction against the target database."""
    from authkeep.crypto.keys import SecretBox
    from authkeep.store.db import create_engine, session_factory

    async def run() -> T:
        engine = create_engine(settings.database_url, pool_size=1)
        try:
            async with session_factory(engine)() as session:
                result = await work(session, SecretBox(settings.secret_key))
                await session.commit()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(run())


async def environment_for(session: Any, target: Target, name: str | None) -> Any:
    from authkeep.services import environments

    if name:
        return await environments.get_environment_by_name(session, name)
    if target.data_dir is not None:
        return await environments.get_environment_by_name(session, DEV_ENVIRONMENT)
    found = await environments.list_environments(session)
    if len(found) == 1:
        return found[0]
    names = ", ".join(e.name for e in found) or "none yet"
    raise CliError(f"Choose an environment with --env NAME (environments: {names}).")


def data_options(sub: argparse.ArgumentParser, env: bool = True) -> None:
    """The options that choose the dev data directory or a production database."""
    sub.add_argument("--data-dir", help=f"dev data directory (default ./{DEFAULT_DATA_DIR})")
    sub.add_argument("--database-url", help="production database (or AUTHKEEP_DATABASE_URL)")
    if env:
        sub.add_argument("--env", help="environment name (default: the dev environment)")
