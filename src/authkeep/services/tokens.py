"""Access tokens (CONTRACT.md §4.2): RS256 JWTs signed with the environment's current key.

Each worker keeps the decrypted current key for a few seconds, so minting costs one RSA
signature; a rotation that activates a new key is picked up within that time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from authkeep.crypto import jwt
from authkeep.crypto.keys import SecretBox
from authkeep.crypto.secrets import new_ulid
from authkeep.errors import ServiceUnavailable
from authkeep.services.signing_keys import current_signing_key
from authkeep.store.models import (
    Environment,
    MembershipRole,
    OrganizationMembership,
    Permission,
    Role,
    RolePermission,
    Session,
)
from authkeep.store.rotation import SessionRow

KEY_CACHE_SECONDS = 10.0


@dataclass
class CachedKey:
    expires: float
    kid: str
    private_key: RSAPrivateKey


class TokenIssuer:
    """Mints access tokens; one per app (worker), holding the decrypted-key cache."""

    def __init__(self, box: SecretBox, base_url: str) -> None:
        self.box = box
        self.base_url = base_url.rstrip("/")
        self._keys: dict[str, CachedKey] = {}

    def issuer(self, environment: Environment, client_id: str) -> str:
        return environment.issuer or f"{self.base_url}/user_management/{client_id}"

    async def signing_key(self, session: AsyncSession, environment_id: str) -> CachedKey:
        cached = self._keys.get(environment_id)
        if cached is not None and cached.expires > time.monotonic():
            return cached
        row = await current_signing_key(session, environment_id)
        if row is None:
            raise ServiceUnavailable("This environment has no active signing key.")
        if cached is None or cached.kid != row.kid:
            pem = self.box.decrypt(row.private_key_encrypted, row.id)
            # Checked in full when it was generated or imported (crypto/keys.py) and stored under
            # authenticated encryption since: checking it again took ~40 ms per worker and key.
            private_key = load_pem_private_key(
                pem, password=None, unsafe_skip_rsa_key_validation=True
            )
            assert isinstance(private_key, RSAPrivateKey)
        else:
            private_key = cached.private_key
        cached = CachedKey(time.monotonic() + KEY_CACHE_SECONDS, row.kid, private_key)
        self._keys[environment_id] = cached
        return cached

    def cached_key(self, environment_id: str) -> CachedKey | None:
        """The signing key if this worker holds it fresh: minting then needs no database."""
        cached = self._keys.get(environment_id)
        return cached if cached is not None and cached.expires > time.monotonic() else None

    async def mint(
        self,
        session: AsyncSession,
        environment: Environment,
        user_session: Session,
        claims_extra: dict[str, Any],
        lifetime: int | None = None,
    ) -> str:
        """A signed access token; `lifetime` overrides the environment's (minted dev sessions)."""
        key = await self.signing_key(session, environment.id)
        return self.mint_with(key, environment, user_session, claims_extra, lifetime)

    def mint_with(
        self,
        key: CachedKey,
        environment: Environment,
        user_session: Session | SessionRow,
        claims_extra: dict[str, Any],
        lifetime: int | None = None,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer(environment, user_session.client_id),
            "sub": user_session.user_id,
            "sid": user_session.id,
            "jti": new_ulid(),
            "client_id": user_session.client_id,
            "auth_time": int(user_session.auth_time.timestamp()),
            "iat": now,
            "exp": now + (lifetime or environment.access_token_ttl),
            **claims_extra,
        }
        if claims["iss"].endswith("/"):
            # The `{public_url}/` issuer form is verified with `aud` = client ID (DESIGN.md).
            claims["aud"] = user_session.client_id
        return jwt.encode(claims, key.private_key, key.kid)


async def organization_claims(
    session: AsyncSession, environment_id: str, user_id: str, organization_id: str | None
) -> dict[str, Any]:
    """`org_id`, `role`, `roles`, `permissions` from the active membership; none without an org.

    One query: it runs on every refresh.
    """
    if organization_id is None:
        return {}
    rows = await session.execute(
        select(Role.slug, Role.priority, Permission.slug)
        .select_from(OrganizationMembership)
        .join(MembershipRole, MembershipRole.membership_id == OrganizationMembership.id)
        .join(Role, Role.id == MembershipRole.role_id)
        .outerjoin(RolePermission, RolePermission.role_id == Role.id)
        .outerjoin(Permission, Permission.id == RolePermission.permission_id)
        .where(
            OrganizationMembership.environment_id == environment_id,
            OrganizationMembership.user_id == user_id,
            OrganizationMembership.organization_id == organization_id,
            OrganizationMembership.status == "active",
        )
    )
    return claims_from_roles(organization_id, [tuple(row) for row in rows])


def claims_from_roles(
    organization_id: str | None, rows: list[tuple[str, int, str | None]]
) -> dict[str, Any]:
    """The claims of `organization_claims` from its rows: (role slug, priority, permission)."""
    if organization_id is None:
        return {}
    priorities: dict[str, int] = {}
    permissions: set[str] = set()
    for role_slug, priority, permission_slug in rows:
        priorities[role_slug] = priority
        if permission_slug is not None:
            permissions.add(permission_slug)
    if not priorities:
        return {"org_id": organization_id}
    roles = sorted(priorities, key=lambda slug: (priorities[slug], slug))
    return {
        "org_id": organization_id,
        "role": roles[0],
        "roles": roles,
        "permissions": sorted(permissions),
    }
