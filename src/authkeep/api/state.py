"""What the HTTP layer shares for the life of the app: settings, database, secret box, caches."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import Request

from authkeep.config import Settings
from authkeep.crypto.keys import SecretBox
from authkeep.services.faults import FaultTable
from authkeep.services.rate_limits import PasswordAttemptLimits
from authkeep.services.tokens import TokenIssuer


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    # Reads run without BEGIN/COMMIT: two round trips fewer for every GET.
    read_sessions: async_sessionmaker[AsyncSession]
    box: SecretBox
    issuer: TokenIssuer
    password_limits: PasswordAttemptLimits = field(default_factory=PasswordAttemptLimits)
    # client_id -> (expires_at monotonic, serialized JWKS body)
    jwks_cache: dict[str, tuple[float, bytes]] = field(default_factory=dict)
    # client_id -> (expires_at monotonic, client, environment) for the grant endpoint
    client_cache: dict[str, tuple[float, Any, Any]] = field(default_factory=dict)
    # Injected faults of development environments (POST /_authkeep/dev/faults)
    faults: FaultTable = field(default_factory=FaultTable)
    extras: dict[str, Any] = field(default_factory=dict)


def app_state(request: Request) -> AppState:
    return request.app.state.authkeep  # type: ignore[no-any-return]
