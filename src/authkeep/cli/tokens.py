"""Signed tokens in development: `authkeep token mint`, a real signed access token (or a sealed
session cookie) for a user of a development environment, for curl, API tests and app tests
(production environments refuse); and the pinned signing key of `authkeep dev --signing-key FILE`
(or `AUTHKEEP_DEV_SIGNING_KEY=FILE`): every machine that starts with the same file serves the same
JWKS, as the `kid` is the key's RFC 7638 thumbprint and its certificate is derived from the key.

The rules of organizations and roles are those of services/dev_sessions.py: nothing is written
but the session itself; `--org` needs an active membership; `--role` (with `--org`) replaces the
role claims of this access token only.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from authkeep.cli.common import (
    CliError,
    Target,
    data_options,
    environment_for,
    resolve_target,
    run_db,
    server_imports,
)
from authkeep.config import DEFAULT_DEV_PORT
from authkeep.devdata import DEV_ENVIRONMENT


def _base_url(target: Target) -> str:
    """The URL the server names in its tokens: the dev server's, or AUTHKEEP_PUBLIC_URL."""
    if target.data_dir is not None:
        credentials = target.data_dir.credentials()
        if credentials is not None and credentials.base_url:
            return str(credentials.base_url)
        return f"http://127.0.0.1:{DEFAULT_DEV_PORT}"
    return str(target.settings.base_url)


def _cookie_password(target: Target) -> str:
    if target.data_dir is not None:
        credentials = target.data_dir.credentials()
        if credentials is not None:
            return str(credentials.cookie_password)
    password = os.environ.get("WORKOS_COOKIE_PASSWORD")
    if not password:
        raise CliError("--sealed needs the app's cookie password: set WORKOS_COOKIE_PASSWORD.")
    return password


def cmd_token_mint(args: argparse.Namespace) -> int:
    server_imports()
    from authkeep.crypto.keys import SecretBox
    from authkeep.services import dev_sessions
    from authkeep.services.tokens import TokenIssuer

    target = resolve_target(args)
    issuer = TokenIssuer(SecretBox(target.settings.secret_key), _base_url(target))
    cookie_password = _cookie_password(target) if args.sealed else None

    async def work(session: Any, box: Any) -> dict[str, Any]:
        environment = await environment_for(session, target, args.env)
        if environment.kind != "development":
            raise CliError(
                f"Refusing to mint a token for {environment.name!r}: it is a production "
                "environment, and minted sessions exist only in development environments."
            )
        minted = await dev_sessions.mint_session(
            session,
            environment,
            issuer,
            dev_sessions.MintRequest(
                user=args.user, organization_id=args.org, role=args.role, ttl=args.ttl
            ),
        )
        result: dict[str, Any] = {
            "access_token": minted.access_token,
            "refresh_token": minted.refresh_token,
            "session_id": minted.session_id,
            "user_id": minted.user.id,
            "organization_id": minted.organization_id,
            "claims": minted.claims,
        }
        if cookie_password is not None:
            result["sealed_session"] = dev_sessions.sealed_session(minted, cookie_password)
        return result

    result = run_db(target.settings, work)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(result["sealed_session"] if args.sealed else result["access_token"])
    return 0


ENVIRONMENT_VARIABLE = "AUTHKEEP_DEV_SIGNING_KEY"


def pinned_key_path(option: str | None) -> str | None:
    return option or os.environ.get(ENVIRONMENT_VARIABLE) or None


def pin_dev_signing_key(target: Target, path: str) -> str:
    """Make the key in `path` the dev environment's signing key; returns its `kid`."""
    from authkeep.services import environments, signing_keys

    try:
        pem = Path(path).read_bytes()
    except OSError as error:
        raise CliError(f"Cannot read the signing key {path}: {error.strerror}.") from None

    async def work(session: Any, box: Any) -> str:
        environment = await environments.get_environment_by_name(session, DEV_ENVIRONMENT)
        return str((await signing_keys.pin(session, box, environment, pem)).kid)

    try:
        return run_db(target.settings, work)
    except ValueError as error:
        raise CliError(
            f"{path}: {error}. Make one with: openssl genpkey -algorithm RSA "
            "-pkeyopt rsa_keygen_bits:2048 -out dev-signing-key.pem"
        ) from None


def register(commands: Any) -> None:
    token = commands.add_parser("token", help="mint tokens for development environments")
    actions = token.add_subparsers(dest="action", required=True, metavar="ACTION")
    mint = actions.add_parser(
        "mint",
        help="print a signed access token (or a sealed session cookie) for a user",
        description="Creates a real session for the user and prints its access token. "
        "Development environments only.",
    )
    mint.add_argument("--user", required=True, metavar="EMAIL|ID", help="e-mail or user_... ID")
    mint.add_argument("--org", metavar="ORG_ID", help="organization (needs a membership)")
    mint.add_argument(
        "--role", help="role slug for this token's claims (with --org; the membership is kept)"
    )
    mint.add_argument("--ttl", type=int, metavar="SECONDS", help="access-token lifetime")
    mint.add_argument(
        "--sealed",
        action="store_true",
        help="print the wos-session cookie value (iron seal with WORKOS_COOKIE_PASSWORD)",
    )
    mint.add_argument("--json", action="store_true", help="tokens, IDs and claims as JSON")
    data_options(mint)
    mint.set_defaults(handler=cmd_token_mint)
