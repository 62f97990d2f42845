"""The authorization-code grant's common case in one database step, as store/rotation.py does for
the refresh grant.

An exchange of a fresh code by the client it was issued to, with its PKCE verifier or an API key,
for a user who may sign in, claims the code (marks it used, naming the new session), adds the
session and its refresh token, records the sign-in time and reads the user and the membership's
roles: one statement on PostgreSQL, one short transaction of plain statements on SQLite. Every
condition of the claim is in its WHERE clause, so a code that is not in that state claims nothing
and changes nothing: the caller then takes the full path (services/authorize.py), which explains
the refusal and revokes what a replayed code was first exchanged for.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import weakref
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from authkeep.store import planned
from authkeep.store.rotation import (
    _ROLES_OF_MEMBERSHIP,
    USER_COLUMNS,
    Rotated,
    _rotated,
    _sqlite_read_time,
    _sqlite_time,
    _SqliteRotator,
)


@dataclass(slots=True)
class Exchange:
    """What the claim needs, and the new session's values that do not come from the code."""

    code_hash: str
    environment_id: str
    client_id: str
    now: dt.datetime
    # base64url(SHA-256(code_verifier)) when the request sent a verifier
    challenge: str | None
    api_key_hash: str | None  # the client secret's hash, when the request gave one
    verification_required: bool  # the environment admits only verified e-mail addresses
    session_id: str
    session_expires_at: dt.datetime
    ip_address: str | None
    user_agent: str | None
    refresh_token_id: str
    refresh_token_hash: str


# The claim's conditions ({name} are placeholders). A code without a challenge needs an API key;
# a key that was sent must be a live key of this environment (else the full path answers
# invalid_client); an unverified user where verification is required takes the full path, which
# starts the verification.
_CLAIMABLE = """
    code_hash = {code_hash} AND environment_id = {env} AND client_id = {client}
    AND used_at IS NULL AND expires_at > {now}
    AND ((code_challenge IS NULL AND {api_key_hash} IS NOT NULL)
         OR code_challenge = {challenge})
    AND ({api_key_hash} IS NULL OR EXISTS (
        SELECT 1 FROM api_keys
        WHERE key_hash = {api_key_hash} AND environment_id = {env} AND revoked_at IS NULL
    ))
    AND EXISTS (
        SELECT 1 FROM users
        WHERE users.id = authorization_codes.user_id
          AND (users.email_verified OR NOT {verification_required})
    )
"""

_PG_PLACES = {
    "code_hash": "$1::text",
    "env": "$2::text",
    "client": "$3::text",
    "now": "$4::timestamptz",
    "challenge": "$5::text",
    "api_key_hash": "$6::text",
    "verification_required": "$7::boolean",
    "session_id": "$8::text",
    "expires_at": "$9::timestamptz",
    "ip_address": "$10::text",
    "user_agent": "$11::text",
    "token_id": "$12::text",
    "token_hash": "$13::text",
}
_P = _PG_PLACES
_USER_SELECT = ", ".join(f"u.{column}" for column in USER_COLUMNS)

_PG_EXCHANGE = f"""
WITH claimed AS (
    UPDATE authorization_codes SET used_at = {_P["now"]}, session_id = {_P["session_id"]}
    WHERE {_CLAIMABLE.format(**_PG_PLACES)}
    RETURNING user_id, organization_id, auth_method, auth_time
), added AS (
    INSERT INTO sessions (id, environment_id, client_id, user_id, organization_id, status,
        auth_method, auth_time, ip_address, user_agent, expires_at, last_active_at,
        hosted_session_id, created_at, updated_at)
    SELECT {_P["session_id"]}, {_P["env"]}, {_P["client"]}, user_id, organization_id, 'active',
        auth_method, auth_time, {_P["ip_address"]}, {_P["user_agent"]}, {_P["expires_at"]},
        {_P["now"]}, NULL, {_P["now"]}, {_P["now"]}
    FROM claimed
    RETURNING id
), token AS (
    INSERT INTO refresh_tokens (id, environment_id, session_id, token_hash, status, created_at)
    SELECT {_P["token_id"]}, {_P["env"]}, id, {_P["token_hash"]}, 'active', {_P["now"]}
    FROM added
), touched AS (
    UPDATE users SET last_sign_in_at = {_P["now"]}, updated_at = {_P["now"]}
    FROM claimed WHERE users.id = claimed.user_id
)
SELECT claimed.organization_id, claimed.auth_method, claimed.auth_time, {_USER_SELECT},
    (SELECT json_agg(json_build_array(r.slug, r.priority, p.slug))
     {_ROLES_OF_MEMBERSHIP.format(env=_P["env"], user="u.id", org="claimed.organization_id")}
    ) AS roles
FROM claimed
JOIN users u ON u.id = claimed.user_id
"""

_SQLITE_PLACES = {name: f":{name}" for name in _PG_PLACES}
_SQLITE_CLAIM = f"""
UPDATE authorization_codes SET used_at = :now, session_id = :session_id
WHERE {_CLAIMABLE.format(**_SQLITE_PLACES)}
RETURNING user_id, organization_id, auth_method, auth_time
"""
_SQLITE_ADD_SESSION = """
INSERT INTO sessions (id, environment_id, client_id, user_id, organization_id, status,
    auth_method, auth_time, ip_address, user_agent, expires_at, last_active_at,
    hosted_session_id, created_at, updated_at)
VALUES (:session_id, :env, :client, :user_id, :organization_id, 'active', :auth_method,
    :auth_time, :ip_address, :user_agent, :expires_at, :now, NULL, :now, :now)
"""
_SQLITE_ADD_REFRESH = """
INSERT INTO refresh_tokens (id, environment_id, session_id, token_hash, status, created_at)
VALUES (:token_id, :env, :session_id, :token_hash, 'active', :now)
"""
_SQLITE_TOUCH = "UPDATE users SET last_sign_in_at = :now, updated_at = :now WHERE id = :user_id"
_SQLITE_USER = f"SELECT {_USER_SELECT} FROM users u WHERE u.id = :user_id"
_SQLITE_ROLES = "SELECT r.slug, r.priority, p.slug" + _ROLES_OF_MEMBERSHIP.format(
    env=":env", user=":user_id", org=":organization_id"
)


async def exchange(engine: AsyncEngine, e: Exchange) -> Rotated | None:
    """Claim the code and write the sign-in in one step, or None when the code is not simply
    exchangeable right now (nothing was changed)."""
    if engine.dialect.name == "postgresql":
        return await _exchange_postgres(engine, e)
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None  # a second connection would not see this database
    return await _exchange_sqlite(_SqliteRotator.for_engine(engine), e)


# Exchanges in flight per worker on PostgreSQL; the others wait their turn. Each holds one of
# store/planned.py's connections for a round trip, and more than it keeps open would mean
# connecting anew under load (a connection costs more than many exchanges).
PG_MAX_IN_FLIGHT = 4
_turns: weakref.WeakKeyDictionary[
    AsyncEngine, tuple[asyncio.AbstractEventLoop, asyncio.Semaphore]
] = weakref.WeakKeyDictionary()


def _turn(engine: AsyncEngine) -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    held = _turns.get(engine)
    if held is None or held[0] is not loop:
        held = _turns[engine] = (loop, asyncio.Semaphore(PG_MAX_IN_FLIGHT))
    return held[1]


async def _exchange_postgres(engine: AsyncEngine, e: Exchange) -> Rotated | None:
    async with _turn(engine), planned.for_engine(engine).connection() as connection:
        row = await connection.fetchrow(
            _PG_EXCHANGE,
            e.code_hash,
            e.environment_id,
            e.client_id,
            e.now,
            e.challenge,
            e.api_key_hash,
            e.verification_required,
            e.session_id,
            e.session_expires_at,
            e.ip_address,
            e.user_agent,
            e.refresh_token_id,
            e.refresh_token_hash,
        )
    if row is None:
        return None
    values = list(row.values())
    organization_id, auth_method, auth_time = values[:3]
    roles = values[-1]
    if isinstance(roles, str):
        roles = json.loads(roles)
    session = (e.session_id, values[3], organization_id, auth_method, auth_time, e.client_id)
    return _signed_in(_rotated(session, values[3:-1], roles or [], lambda v: v), e.now)


async def _exchange_sqlite(sqlite: _SqliteRotator, e: Exchange) -> Rotated | None:
    if not await sqlite.begin():
        return None
    connection = sqlite.connection
    try:
        params: dict[str, Any] = {
            "code_hash": e.code_hash,
            "env": e.environment_id,
            "client": e.client_id,
            "now": _sqlite_time(e.now),
            "challenge": e.challenge,
            "api_key_hash": e.api_key_hash,
            "verification_required": int(e.verification_required),
            "session_id": e.session_id,
            "expires_at": _sqlite_time(e.session_expires_at),
            "ip_address": e.ip_address,
            "user_agent": e.user_agent,
            "token_id": e.refresh_token_id,
            "token_hash": e.refresh_token_hash,
        }
        claimed = connection.execute(_SQLITE_CLAIM, params).fetchone()
        if claimed is None:
            connection.execute("ROLLBACK")
            return None
        user_id, organization_id, auth_method, auth_time = claimed
        params.update(
            user_id=user_id,
            organization_id=organization_id,
            auth_method=auth_method,
            auth_time=auth_time,
        )
        connection.execute(_SQLITE_ADD_SESSION, params)
        connection.execute(_SQLITE_ADD_REFRESH, params)
        connection.execute(_SQLITE_TOUCH, params)
        user = connection.execute(_SQLITE_USER, params).fetchone()
        roles: list[Any] = []
        if organization_id is not None:
            roles = connection.execute(_SQLITE_ROLES, params).fetchall()
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
    session = (e.session_id, user_id, organization_id, auth_method, auth_time, e.client_id)
    return _signed_in(_rotated(session, user, roles, _sqlite_read_time), e.now)


def _signed_in(result: Rotated, now: dt.datetime) -> Rotated:
    """The user as the write left it: the statement read the row as it was before."""
    result.user.last_sign_in_at = result.user.updated_at = now
    return result
