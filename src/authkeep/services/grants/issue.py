"""The end of every successful grant: a session (or its rotation), an access token, the body."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from authkeep.crypto.keys import SecretBox
from authkeep.services.rate_limits import PasswordAttemptLimits
from authkeep.services.sessions import IssuedSession, create_session
from authkeep.services.tokens import TokenIssuer, organization_claims
from authkeep.store.models import Client, Environment, User, utcnow
from authkeep.store.rotation import UserRow

# Session `auth_method` (snake case, §5.1) -> response `authentication_method` (§3.4).
AUTHENTICATION_METHODS = {
    "password": "Password",
    "magic_code": "MagicAuth",
    "sso": "SSO",
    "oauth": "GoogleOAuth",
    "impersonation": "Impersonation",
}


@dataclass
class GrantContext:
    session: AsyncSession
    environment: Environment
    client: Client
    client_authenticated: bool
    box: SecretBox
    issuer: TokenIssuer
    limits: PasswordAttemptLimits
    fields: dict[str, Any]
    ip_address: str | None
    user_agent: str | None
    extra: dict[str, Any] = field(default_factory=dict)
    # Autocommit reads beside `session`: on SQLite they do not take the one write connection.
    reads: AsyncSession | None = None
    engine: AsyncEngine | None = None  # for the steps taken without the ORM
    # The password grant checks the secret in its own first read; other grants get it checked.
    client_secret: str | None = None

    def text(self, name: str) -> str | None:
        value = self.fields.get(name)
        return value if isinstance(value, str) and value != "" else None


@dataclass
class GrantResult:
    user: User | UserRow
    issued: IssuedSession
    access_token: str

    @property
    def authentication_method(self) -> str:
        return AUTHENTICATION_METHODS.get(self.issued.session.auth_method, "Password")


async def mint(ctx: GrantContext, user: User, issued: IssuedSession) -> GrantResult:
    claims = await organization_claims(
        ctx.session, ctx.environment.id, user.id, issued.session.organization_id
    )
    token = await ctx.issuer.mint(ctx.session, ctx.environment, issued.session, claims)
    return GrantResult(user, issued, token)


async def new_session(
    ctx: GrantContext,
    user: User,
    *,
    organization_id: str | None,
    auth_method: str,
    auth_time: dt.datetime | None = None,
    hosted_session_id: str | None = None,
) -> GrantResult:
    user.last_sign_in_at = utcnow()
    issued = await create_session(
        ctx.session,
        ctx.environment,
        client_id=ctx.client.id,
        user_id=user.id,
        organization_id=organization_id,
        auth_method=auth_method,
        auth_time=auth_time or utcnow(),
        ip_address=ctx.ip_address,
        user_agent=ctx.user_agent,
        hosted_session_id=hosted_session_id,
    )
    return await mint(ctx, user, issued)
