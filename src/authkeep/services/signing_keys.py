"""Per-environment RS256 signing keys: creation, rotation, JWKS.

Rotation publishes the new key at once but lets it sign only after `key_publish_delay`, so
verifiers that cached the JWKS learn it before they meet it. The old key stays published until
every token it could have signed has expired (DESIGN.md, CONTRACT.md §4.5).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from authkeep.crypto.keys import (
    SecretBox,
    generate_signing_key,
    jwks_member_from_certificate,
    signing_key_from_pem,
)
from authkeep.crypto.secrets import new_id
from authkeep.store.models import Environment, SigningKey, utcnow


async def create_signing_key(
    session: AsyncSession, box: SecretBox, environment: Environment, active_from: dt.datetime
) -> SigningKey:
    generated = generate_signing_key(f"authkeep {environment.name}")
    key_id = new_id("sso_oidc_key_pair")
    key = SigningKey(
        id=key_id,
        environment_id=environment.id,
        kid=generated.kid,
        private_key_encrypted=box.encrypt(generated.private_pem, key_id),
        certificate_der=generated.certificate_der,
        active_from=active_from,
    )
    session.add(key)
    await session.flush()
    return key


async def published_keys(session: AsyncSession, environment_id: str) -> list[SigningKey]:
    now = utcnow()
    rows = await session.scalars(
        select(SigningKey)
        .where(SigningKey.environment_id == environment_id)
        .where(or_(SigningKey.retire_at.is_(None), SigningKey.retire_at > now))
        .order_by(SigningKey.active_from.desc())
    )
    return list(rows)


async def jwks(session: AsyncSession, environment_id: str) -> dict[str, Any]:
    keys = await published_keys(session, environment_id)
    return {"keys": [jwks_member_from_certificate(k.kid, k.certificate_der) for k in keys]}


async def current_signing_key(session: AsyncSession, environment_id: str) -> SigningKey | None:
    """The newest published key whose signing period has begun."""
    now = utcnow()
    for key in await published_keys(session, environment_id):
        if key.active_from <= now:
            return key
    return None


async def rotate(
    session: AsyncSession,
    box: SecretBox,
    environment: Environment,
    publish_delay: int,
    token_lifetime: int,
) -> SigningKey:
    """A new key signing after `publish_delay` s; older keys retire when their tokens expire."""
    now = utcnow()
    active_from = now + dt.timedelta(seconds=publish_delay)
    # Tokens signed by an old key up to the switch live `token_lifetime` more (plus a minute of
    # clock skew between nodes and verifiers).
    retire_at = active_from + dt.timedelta(seconds=token_lifetime + 60)
    for key in await published_keys(session, environment.id):
        if key.retire_at is None or key.retire_at > retire_at:
            key.retire_at = retire_at
    return await create_signing_key(session, box, environment, active_from)


async def pin(
    session: AsyncSession, box: SecretBox, environment: Environment, pem: bytes
) -> SigningKey:
    """Make an imported key the environment's only signing key, at once: a development
    environment pinned to the same key file serves the same JWKS everywhere. Tokens signed by
    the keys it replaces no longer verify. Raises ValueError for an unusable key."""
    imported = signing_key_from_pem(pem)
    now = utcnow()
    key = await session.scalar(select(SigningKey).where(SigningKey.kid == imported.kid))
    if key is not None and key.environment_id != environment.id:
        raise ValueError(f"this key (kid {imported.kid}) already signs for another environment")
    if key is None:
        key_id = new_id("sso_oidc_key_pair")
        key = SigningKey(
            id=key_id,
            environment_id=environment.id,
            kid=imported.kid,
            private_key_encrypted=box.encrypt(imported.private_pem, key_id),
            certificate_der=imported.certificate_der,
            active_from=now,
        )
        session.add(key)
    else:
        key.active_from = min(key.active_from, now)
        key.retire_at = None
    for other in await published_keys(session, environment.id):
        if other.kid != imported.kid:
            other.retire_at = now
    await session.flush()
    return key
