"""Pinning the dev environment's signing key to a PEM file (`authkeep dev --signing-key FILE` or
`AUTHKEEP_DEV_SIGNING_KEY=FILE`), so every machine that starts with the same file serves the same
JWKS: the `kid` is the key's RFC 7638 thumbprint and its certificate is derived from the key.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from authkeep.cli.common import CliError, Target, run_db
from authkeep.devdata import DEV_ENVIRONMENT

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
