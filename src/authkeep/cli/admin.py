"""Environment administration: allowed URIs and origins, API keys, environments, signing keys."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from authkeep.cli.common import (
    CliError,
    data_options,
    environment_for,
    resolve_target,
    run_db,
    server_imports,
)

# environment administration -------------------------------------------------------------------


def _uri_command(kind: str) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        server_imports()
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
            environment = await environment_for(session, target, args.env)
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
    server_imports()
    from authkeep.services import environments as env_service

    target = resolve_target(args)

    async def work(session: Any, box: Any) -> list[str]:
        environment = await environment_for(session, target, args.env)
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
    server_imports()
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
            environment = await environment_for(session, target, args.name)
            changes = env_service.SignInSettings(
                issuer=args.issuer,
                access_token_ttl=args.access_token_ttl,
                signup=args.signup.replace("-", "_") if args.signup else None,
                session_max_seconds=args.session_max_age,
                session_idle_seconds=args.session_idle_timeout,
                brand_name=args.brand_name,
                brand_logo_url=args.brand_logo_url,
                brand_color=args.brand_color,
                end_sessions_on_password_reset=args.end_sessions_on_password_reset,
                password_reset_url=args.password_reset_url,
                email_verification_required=args.email_verification_required,
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
    server_imports()
    from authkeep.services import signing_keys

    target = resolve_target(args)
    delay = 0 if args.now else target.settings.key_publish_delay

    async def work(session: Any, box: Any) -> str:
        environment = await environment_for(session, target, args.env)
        key = await signing_keys.rotate(
            session, box, environment, delay, environment.access_token_ttl
        )
        return f"new signing key {key.kid}: published now, signs from {key.active_from.isoformat()}"

    print(run_db(target.settings, work))
    return 0


def register(commands: Any) -> None:
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
    envs.add_argument(
        "--end-sessions-on-password-reset",
        action=argparse.BooleanOptionalAction,
        help="whether a password reset signs the user out everywhere (default: yes)",
    )
    envs.add_argument(
        "--password-reset-url",
        help="your own reset page, which gets ?token=...; an empty value restores the hosted one",
    )
    envs.add_argument(
        "--email-verification-required",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="sign-in with an unverified e-mail first asks for a code sent to it",
    )
    data_options(envs, env=False)
    envs.set_defaults(handler=cmd_environments)

    rotate = commands.add_parser("keys", help="rotate the signing key")
    rotate.add_argument("action", choices=["rotate"])
    rotate.add_argument("--now", action="store_true", help="sign with the new key at once")
    data_options(rotate)
    rotate.set_defaults(handler=cmd_keys)
