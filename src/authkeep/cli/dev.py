"""`authkeep dev` and `authkeep env`: the one-command local server and its SDK variables."""

from __future__ import annotations

import argparse
import json
from typing import Any

from authkeep.cli.common import (
    CliError,
    Target,
    resolve_target,
    run_db,
    server_imports,
)
from authkeep.cli.tokens import pin_dev_signing_key, pinned_key_path
from authkeep.config import DEFAULT_DEV_PORT
from authkeep.devdata import (
    DEFAULT_DATA_DIR,
    DEFAULT_REDIRECT_URI,
    DEV_ENVIRONMENT,
    DataDir,
    DevCredentials,
    new_cookie_password,
)


def ensure_dev_environment(target: Target, client_id: str | None = None) -> DevCredentials:
    """Create the dev environment on first start (with a seed's pinned client ID); later starts
    reuse it."""
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
            client_id=client_id,
        )
        return DevCredentials(
            environment_id=made.environment.id,
            client_id=made.client.id,
            api_key=made.api_key,
            cookie_password=new_cookie_password(),
        )

    credentials = run_db(target.settings, create)
    target.data_dir.save_credentials(credentials)
    return credentials


def sdk_variables(
    credentials: DevCredentials, base_url: str, redirect_uri: str = DEFAULT_REDIRECT_URI
) -> dict[str, str]:
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
        "NEXT_PUBLIC_WORKOS_REDIRECT_URI": redirect_uri,
    }


def default_redirect_uri(target: Target) -> str:
    """The dev environment's first redirect URI: a seed or `authkeep apply` may have set others."""
    from authkeep.services import environments

    async def first(session: Any, box: Any) -> str:
        environment = await environments.get_environment_by_name(session, DEV_ENVIRONMENT)
        rows = await environments.list_redirect_uris(session, environment.id)
        default = [row.uri for row in rows if row.is_default] or [row.uri for row in rows]
        return default[0] if default else DEFAULT_REDIRECT_URI

    return run_db(target.settings, first)


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
    server_imports()
    from authkeep.services.passwords import share_one_allocator_arena

    share_one_allocator_arena()  # before any thread: this process may serve requests itself
    import uvicorn

    from authkeep.app import create_app

    target = resolve_target(args, require_existing=False)
    # Without AUTHKEEP_SMTP_URL, e-mails land in the dev mailbox (console, /_authkeep/mailbox).
    settings = target.settings.replace(host=args.host, port=args.port, dev_mailbox=True)
    _ensure_port_free(settings.host, settings.port)
    assert target.data_dir is not None
    seed = None
    if args.seed:
        from authkeep.cli.config import apply_dev_seed, load_dev_seed

        seed = load_dev_seed(args.seed)  # a broken seed stops the start before anything changes
    if args.reset:
        removed = target.data_dir.reset()
        print("reset: removed " + (", ".join(map(str, removed)) or "nothing (no dev data yet)"))
    pinned = seed.environments[DEV_ENVIRONMENT].client_id if seed else None
    credentials = ensure_dev_environment(Target(settings, target.data_dir), client_id=pinned)
    signing_key = pinned_key_path(args.signing_key)
    if signing_key:
        kid = pin_dev_signing_key(Target(settings, target.data_dir), signing_key)
        print(f"authkeep dev: signing key {kid} pinned from {signing_key}", flush=True)
    if seed:
        print("\n".join(apply_dev_seed(Target(settings, target.data_dir), seed)), flush=True)
    credentials.base_url = settings.base_url
    target.data_dir.save_credentials(credentials)
    redirect_uri = default_redirect_uri(Target(settings, target.data_dir))
    variables = sdk_variables(credentials, settings.base_url, redirect_uri)
    lines = [f"{k}={v}" for k, v in variables.items()]
    print(
        f"authkeep dev: {settings.base_url}  (data in {target.data_dir.path})\n"
        "Point the WorkOS SDKs here with:\n\n  " + "\n  ".join(lines) + "\n\n"
        f"E-mails: {settings.base_url}/_authkeep/mailbox"
        + (" (and sent through AUTHKEEP_SMTP_URL)" if settings.smtp_url else "")
        + "\n",
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


def _framework_variables(
    args: argparse.Namespace, data_dir: DataDir, credentials: DevCredentials, base_url: str
) -> dict[str, str]:
    from authkeep.cli.envfile import framework_variables

    issuer = f"{base_url}/user_management/{credentials.client_id}"
    if args.framework == "python" and data_dir.exists():
        # A configured issuer (`authkeep environments configure --issuer`) is what tokens carry.
        from authkeep.config import load_settings
        from authkeep.services.environments import get_environment_by_name

        settings = load_settings(
            database_url=data_dir.database_url, secret_key=data_dir.secret_key()
        )

        async def configured(session: Any, box: Any) -> str | None:
            environment = await get_environment_by_name(session, DEV_ENVIRONMENT)
            return environment.issuer

        issuer = run_db(settings, configured) or issuer
    return framework_variables(
        args.framework,
        base_url=base_url,
        client_id=credentials.client_id,
        api_key=credentials.api_key,
        cookie_password=credentials.cookie_password,
        issuer=issuer,
        redirect_uri=args.redirect_uri,
    )


def cmd_env(args: argparse.Namespace) -> int:
    data_dir = DataDir(args.data_dir or DEFAULT_DATA_DIR)
    credentials = data_dir.credentials()
    if credentials is None:
        raise CliError(f"No dev environment in {data_dir.path} yet: run `authkeep dev` first.")
    base_url = credentials.base_url or f"http://127.0.0.1:{DEFAULT_DEV_PORT}"
    if args.redirect_uri and not args.framework:
        raise CliError("--redirect-uri goes with --framework.")
    if args.framework or args.write:
        variables = (
            _framework_variables(args, data_dir, credentials, base_url)
            if args.framework
            else sdk_variables(credentials, base_url)
        )
        if args.write:
            from authkeep.cli.envfile import merge_env_file

            command = "authkeep env" + (f" --framework {args.framework}" if args.framework else "")
            header = f"authkeep dev server ({base_url}), written by {command}"
            updated, added = merge_env_file(args.write, variables, header)
            print(f"{args.write}: {len(updated)} updated, {len(added)} added")
            for name in updated + added:
                print(f"  {name}")
        else:
            for name, value in variables.items():
                print(f"{name}={value}")
        return 0
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


def register(commands: Any) -> None:
    dev = commands.add_parser("dev", help="run a development server on SQLite")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=DEFAULT_DEV_PORT)
    dev.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    dev.add_argument(
        "--seed",
        metavar="FILE",
        help="apply a seed on start: authkeep.toml's [environments.development], or a WorkOS "
        "emulator seed (workos-emulate.config.yaml / .json)",
    )
    dev.add_argument(
        "--reset", action="store_true", help="delete the dev database first and start fresh"
    )
    dev.add_argument(
        "--signing-key",
        metavar="PEM",
        help="sign with this RSA key (or AUTHKEEP_DEV_SIGNING_KEY): the same JWKS everywhere",
    )
    dev.set_defaults(handler=cmd_dev)

    env = commands.add_parser("env", help="print the dev environment's SDK variables")
    env.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    env.add_argument("--json", action="store_true", help="one JSON object")
    env.add_argument(
        "--framework",
        choices=["next", "vite", "python", "node"],
        help="the variables this SDK or framework reads",
    )
    env.add_argument(
        "--write", metavar="FILE", help="merge the variables into FILE (e.g. .env.local)"
    )
    env.add_argument(
        "--redirect-uri", help="the app's callback (default http://localhost:PORT/callback)"
    )
    env.set_defaults(handler=cmd_env)
