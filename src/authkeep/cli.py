"""`authkeep`: dev server, production server, migrations and environment administration.

Commands work on the dev data directory (`--data-dir`, default ./.authkeep) unless a database URL
is given (`--database-url` or AUTHKEEP_DATABASE_URL), which selects a production deployment.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from authkeep.config import DEFAULT_DEV_PORT, Settings, load_settings, production_problems
from authkeep.devdata import (
    DEFAULT_DATA_DIR,
    DEFAULT_REDIRECT_URI,
    DEV_ENVIRONMENT,
    DataDir,
    DevCredentials,
)
from authkeep.errors import AuthkeepError

T = TypeVar("T")


class CliError(Exception):
    """A problem the user can fix; printed without a traceback."""


@dataclass
class Target:
    settings: Settings
    data_dir: DataDir | None


def _server_imports() -> None:
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


async def _environment(session: Any, target: Target, name: str | None) -> Any:
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


# dev ------------------------------------------------------------------------------------------


def ensure_dev_environment(target: Target) -> DevCredentials:
    """Create the dev environment on first start; later starts reuse it."""
    from authkeep.services import environments
    from authkeep.store.db import migrate_sync

    assert target.data_dir is not None
    migrate_sync(target.settings.database_url)
    credentials = target.data_dir.credentials()
    if credentials is not None:
        return credentials

    async def create(session: Any, box: Any) -> DevCredentials:
        made = await environments.create_environment(
            session,
            box,
            DEV_ENVIRONMENT,
            "development",
            access_token_ttl=target.settings.access_token_ttl,
            redirect_uris=(DEFAULT_REDIRECT_URI,),
        )
        return DevCredentials(
            environment_id=made.environment.id,
            client_id=made.client.id,
            api_key=made.api_key,
            cookie_password=__import__("secrets").token_urlsafe(32),
        )

    credentials = run_db(target.settings, create)
    target.data_dir.save_credentials(credentials)
    return credentials


def sdk_variables(credentials: DevCredentials, base_url: str) -> dict[str, str]:
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    https = parts.scheme == "https"
    return {
        "WORKOS_API_HOSTNAME": parts.hostname or "127.0.0.1",
        "WORKOS_API_PORT": str(parts.port or (443 if https else 80)),
        "WORKOS_API_HTTPS": "true" if https else "false",
        "WORKOS_BASE_URL": base_url,
        "WORKOS_CLIENT_ID": credentials.client_id,
        "WORKOS_API_KEY": credentials.api_key,
        "WORKOS_COOKIE_PASSWORD": credentials.cookie_password,
        "NEXT_PUBLIC_WORKOS_REDIRECT_URI": DEFAULT_REDIRECT_URI,
    }


def _ensure_port_free(host: str, port: int) -> None:
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        # As the server will: connections of a previous run in TIME_WAIT do not count.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise CliError(
                f"Port {port} on {host} is already in use (another authkeep dev, or another "
                f"server?). Stop it, or start on another port: authkeep dev --port {port + 1}"
            ) from None


def cmd_dev(args: argparse.Namespace) -> int:
    _server_imports()
    import uvicorn

    from authkeep.app import create_app

    target = resolve_target(args, require_existing=False)
    settings = target.settings.replace(host=args.host, port=args.port)
    _ensure_port_free(settings.host, settings.port)
    credentials = ensure_dev_environment(Target(settings, target.data_dir))
    assert target.data_dir is not None
    credentials.base_url = settings.base_url
    target.data_dir.save_credentials(credentials)
    lines = [f"{k}={v}" for k, v in sdk_variables(credentials, settings.base_url).items()]
    print(
        f"authkeep dev: {settings.base_url}  (data in {target.data_dir.path})\n"
        "Point the WorkOS SDKs here with:\n\n  " + "\n  ".join(lines) + "\n",
        flush=True,
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
    )
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    data_dir = DataDir(args.data_dir or DEFAULT_DATA_DIR)
    credentials = data_dir.credentials()
    if credentials is None:
        raise CliError(f"No dev environment in {data_dir.path} yet: run `authkeep dev` first.")
    base_url = credentials.base_url or f"http://127.0.0.1:{DEFAULT_DEV_PORT}"
    if args.json:
        print(
            json.dumps(
                {
                    "base_url": base_url,
                    "client_id": credentials.client_id,
                    "api_key": credentials.api_key,
                    "environment_id": credentials.environment_id,
                }
            )
        )
    else:
        for name, value in sdk_variables(credentials, base_url).items():
            print(f"{name}={value}")
    return 0


# production -----------------------------------------------------------------------------------


def _production_settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(
        database_url=args.database_url,
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        workers=getattr(args, "workers", None),
    )
    problems = production_problems(settings)
    if problems:
        raise CliError("authkeep cannot start:\n  - " + "\n  - ".join(problems))
    return settings


def cmd_migrate(args: argparse.Namespace) -> int:
    _server_imports()
    from authkeep.store.db import migrate_sync

    settings = load_settings(database_url=args.database_url)
    if not settings.database_url:
        raise CliError("Set AUTHKEEP_DATABASE_URL (or --database-url) to the database to migrate.")
    migrate_sync(settings.database_url)
    print("Database schema is up to date.")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    _server_imports()
    import uvicorn

    from authkeep.config import env_var_name, setting_fields
    from authkeep.store.db import pending_migrations

    settings = _production_settings(args)
    pending = pending_migrations(settings.database_url)
    if pending:
        raise CliError(
            f"The database lacks {len(pending)} migration(s): run `authkeep migrate` first."
        )
    # Workers are separate processes that read their settings from the environment.
    for field in setting_fields():
        os.environ[env_var_name(field.name)] = str(getattr(settings, field.name))
    if not settings.public_url:
        print(
            "warning: AUTHKEEP_PUBLIC_URL is not set; tokens will name "
            f"{settings.base_url} as their issuer. Set it to the URL clients use.",
            file=sys.stderr,
        )
    print(f"authkeep serving on {settings.host}:{settings.port} with {settings.workers} worker(s)")
    uvicorn.run(
        "authkeep.app:app_from_environment",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        access_log=False,
        proxy_headers=True,
    )
    return 0


# environment administration -------------------------------------------------------------------


def _uri_command(kind: str) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        _server_imports()
        from authkeep.services import environments as env_service

        target = resolve_target(args)
        add, remove, listing = {
            "redirect": (
                env_service.add_redirect_uri,
                env_service.remove_redirect_uri,
                env_service.list_redirect_uris,
            ),
            "logout": (
                env_service.add_logout_uri,
                env_service.remove_logout_uri,
                env_service.list_logout_uris,
            ),
            "cors": (
                env_service.add_cors_origin,
                env_service.remove_cors_origin,
                env_service.list_cors_origins,
            ),
        }[kind]
        if args.action != "list" and not args.value:
            raise CliError(f"`{args.action}` needs the value to {args.action}.")

        async def work(session: Any, box: Any) -> list[str]:
            environment = await _environment(session, target, args.env)
            if args.action == "add":
                await add(session, environment.id, args.value)
            elif args.action == "remove":
                await remove(session, environment.id, args.value)
            rows = await listing(session, environment.id)
            return [getattr(row, "origin", None) or row.uri for row in rows]

        values = run_db(target.settings, work)
        if args.action == "list":
            print("\n".join(values) if values else "(none)")
        else:
            print(f"{args.action}: {args.value}")
        return 0

    return command


def cmd_api_keys(args: argparse.Namespace) -> int:
    _server_imports()
    from authkeep.services import environments as env_service

    target = resolve_target(args)

    async def work(session: Any, box: Any) -> list[str]:
        environment = await _environment(session, target, args.env)
        if args.action == "create":
            row, secret = await env_service.create_api_key(session, environment, args.name)
            return [f"{row.id}  {secret}", "Store this key now: it is not shown again."]
        if args.action == "revoke":
            if not args.key_id:
                raise CliError("`revoke` needs the key ID (see `authkeep api-keys list`).")
            row = await env_service.revoke_api_key(session, args.key_id)
            if row.environment_id != environment.id:
                raise CliError(f"{args.key_id} belongs to another environment.")
            return [f"revoked {row.id}"]
        rows = await env_service.list_api_keys(session, environment.id)
        return [
            f"{r.id}  {r.display_prefix}…  {r.name}  " + ("revoked" if r.revoked_at else "active")
            for r in rows
        ]

    print("\n".join(run_db(target.settings, work)))
    return 0


def cmd_environments(args: argparse.Namespace) -> int:
    _server_imports()
    from authkeep.services import environments as env_service

    target = resolve_target(args)

    async def work(session: Any, box: Any) -> list[str]:
        if args.action == "create":
            if not args.name:
                raise CliError("`environments create` needs a name.")
            made = await env_service.create_environment(
                session,
                box,
                args.name,
                args.kind,
                access_token_ttl=target.settings.access_token_ttl,
            )
            return [
                f"environment {made.environment.name} ({made.environment.kind})",
                f"  environment_id  {made.environment.id}",
                f"  client_id       {made.client.id}",
                f"  api_key         {made.api_key}",
                "Store the API key now: it is not shown again.",
            ]
        if args.action == "configure":
            environment = await _environment(session, target, args.name)
            changes = env_service.SignInSettings(
                issuer=args.issuer,
                access_token_ttl=args.access_token_ttl,
                signup=args.signup.replace("-", "_") if args.signup else None,
                session_max_seconds=args.session_max_age,
                session_idle_seconds=args.session_idle_timeout,
                brand_name=args.brand_name,
                brand_logo_url=args.brand_logo_url,
                brand_color=args.brand_color,
            )
            environment = await env_service.configure_environment(session, environment, changes)
            shown = {
                "name": environment.name,
                "issuer": environment.issuer or "(default: {base_url}/user_management/{client_id})",
                "access_token_ttl": environment.access_token_ttl,
                **environment.settings,
            }
            return [json.dumps(shown, indent=2)]
        rows = await env_service.list_environments(session)
        lines = []
        for environment in rows:
            client = await env_service.client_for(session, environment.id)
            lines.append(f"{environment.name}  {environment.kind}  {environment.id}  {client.id}")
        return lines

    print("\n".join(run_db(target.settings, work)))
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    _server_imports()
    from authkeep.services import signing_keys

    target = resolve_target(args)
    delay = 0 if args.now else target.settings.key_publish_delay

    async def work(session: Any, box: Any) -> str:
        environment = await _environment(session, target, args.env)
        key = await signing_keys.rotate(
            session, box, environment, delay, environment.access_token_ttl
        )
        return f"new signing key {key.kid}: published now, signs from {key.active_from.isoformat()}"

    print(run_db(target.settings, work))
    return 0


# parser ---------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="authkeep", description="Self-hosted identity server for the WorkOS AuthKit API."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def data_options(sub: argparse.ArgumentParser, env: bool = True) -> None:
        sub.add_argument("--data-dir", help=f"dev data directory (default ./{DEFAULT_DATA_DIR})")
        sub.add_argument("--database-url", help="production database (or AUTHKEEP_DATABASE_URL)")
        if env:
            sub.add_argument("--env", help="environment name (default: the dev environment)")

    dev = commands.add_parser("dev", help="run a development server on SQLite")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=DEFAULT_DEV_PORT)
    dev.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    dev.set_defaults(handler=cmd_dev)

    env = commands.add_parser("env", help="print the dev environment's SDK variables")
    env.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    env.add_argument("--json", action="store_true", help="one JSON object")
    env.set_defaults(handler=cmd_env)

    for name, kind, noun in (
        ("redirect-uris", "redirect", "URI"),
        ("logout-uris", "logout", "URI"),
        ("cors-origins", "cors", "ORIGIN"),
    ):
        sub = commands.add_parser(name, help=f"manage allowed {name.replace('-', ' ')}")
        sub.add_argument("action", choices=["add", "remove", "list"])
        sub.add_argument("value", nargs="?", metavar=noun)
        data_options(sub)
        sub.set_defaults(handler=_uri_command(kind))

    keys = commands.add_parser("api-keys", help="create, list or revoke API keys")
    keys.add_argument("action", choices=["create", "list", "revoke"])
    keys.add_argument("key_id", nargs="?", metavar="KEY_ID", help="the key to revoke")
    keys.add_argument("--name", default="cli", help="label for a new key")
    data_options(keys)
    keys.set_defaults(handler=cmd_api_keys)

    envs = commands.add_parser("environments", help="create or list environments")
    envs.add_argument("action", choices=["create", "list", "configure"])
    envs.add_argument("name", nargs="?")
    envs.add_argument("--kind", choices=["development", "production"], default="production")
    envs.add_argument("--issuer", help="token issuer URL; an empty value restores the default")
    envs.add_argument("--access-token-ttl", type=int, help="access-token lifetime in seconds")
    envs.add_argument("--signup", choices=["open", "invite-only"], help="who may sign up")
    envs.add_argument("--session-max-age", type=int, help="maximum session length in seconds")
    envs.add_argument("--session-idle-timeout", type=int, help="inactivity timeout in seconds")
    envs.add_argument("--brand-name", help="name shown on the hosted pages")
    envs.add_argument("--brand-logo-url", help="https URL of a logo for the hosted pages")
    envs.add_argument("--brand-color", help="accent colour of the hosted pages, like #4f46e5")
    data_options(envs, env=False)
    envs.set_defaults(handler=cmd_environments)

    rotate = commands.add_parser("keys", help="rotate the signing key")
    rotate.add_argument("action", choices=["rotate"])
    rotate.add_argument("--now", action="store_true", help="sign with the new key at once")
    data_options(rotate)
    rotate.set_defaults(handler=cmd_keys)

    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("--database-url")
    migrate.set_defaults(handler=cmd_migrate)

    serve = commands.add_parser("serve", help="run the production server")
    serve.add_argument("--database-url")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.set_defaults(handler=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except (CliError, AuthkeepError, ValueError) as error:
        message = error.message if isinstance(error, AuthkeepError) else str(error)
        print(f"authkeep: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
