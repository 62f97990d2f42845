"""The password grant's two database steps without the ORM, as store/rotation.py does for the
refresh grant: before argon2, one read (the client secret's environment and the account); after
it, one short write (the sign-in time, the new session and its refresh token). On SQLite both run
on the rotation connection on the event loop (microseconds each, and a busy database makes the
write yield to the loop, as rotations do, instead of queueing behind the pooled writer); on
PostgreSQL each is one statement on a connection that plans it once (store/planned.py). `None`
means "not here" (an in-memory SQLite database, or a write that could not get the lock in time):
the caller then takes the ORM path.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from authkeep.store import planned
from authkeep.store.rotation import (
    _ROLES_OF_MEMBERSHIP,
    USER_COLUMNS,
    _sqlite_read_time,
    _sqlite_time,
    _SqliteRotator,
)

_USER_SELECT = ", ".join(f"u.{column}" for column in USER_COLUMNS)

_LOOKUP = f"""
SELECT
    (SELECT environment_id FROM api_keys WHERE key_hash = {{key}} AND revoked_at IS NULL),
    u.password_hash, {_USER_SELECT}
FROM (SELECT 1 AS one) AS one
LEFT JOIN users u ON u.environment_id = {{env}} AND u.email_normalized = {{email}}
"""

_ORGANIZATIONS = """
SELECT o.id, o.name FROM organizations o
JOIN organization_memberships m ON m.organization_id = o.id
WHERE m.environment_id = {env} AND m.user_id = {user} AND m.status = 'active'
ORDER BY o.name, o.id
"""

_ROLES = "SELECT r.slug, r.priority, p.slug" + _ROLES_OF_MEMBERSHIP

_SESSION_COLUMNS = (
    "id",
    "environment_id",
    "client_id",
    "user_id",
    "organization_id",
    "status",
    "auth_method",
    "auth_time",
    "ip_address",
    "user_agent",
    "expires_at",
    "last_active_at",
    "hosted_session_id",
    "created_at",
    "updated_at",
)

_PG_RECORD = f"""
WITH touched AS (
    UPDATE users SET last_sign_in_at = $1::timestamptz, updated_at = $1::timestamptz,
        password_hash = COALESCE($2::text, password_hash)
    WHERE id = $3::text
), added AS (
    INSERT INTO sessions ({", ".join(_SESSION_COLUMNS)})
    VALUES ({", ".join(f"${index + 4}" for index in range(len(_SESSION_COLUMNS)))})
    RETURNING id
)
INSERT INTO refresh_tokens (id, environment_id, session_id, token_hash, status, created_at)
SELECT ${len(_SESSION_COLUMNS) + 4}::text, $5::text, added.id,
    ${len(_SESSION_COLUMNS) + 5}::text, 'active', $1::timestamptz
FROM added
"""

_SQLITE_TOUCH = """
UPDATE users SET last_sign_in_at = :now, updated_at = :now,
    password_hash = COALESCE(:new_hash, password_hash)
WHERE id = :user_id
"""
_SQLITE_ADD_SESSION = (
    f"INSERT INTO sessions ({', '.join(_SESSION_COLUMNS)}) "
    f"VALUES ({', '.join(':' + column for column in _SESSION_COLUMNS)})"
)
_SQLITE_ADD_REFRESH = """
INSERT INTO refresh_tokens (id, environment_id, session_id, token_hash, status, created_at)
VALUES (:token_id, :environment_id, :id, :token_hash, 'active', :now)
"""


@dataclass(frozen=True)
class Account:
    key_environment_id: str | None  # the environment of the client secret, if it is a live key
    password_hash: str | None
    user: dict[str, Any] | None  # USER_COLUMNS, None for an unknown e-mail


def _sqlite(engine: AsyncEngine) -> _SqliteRotator | None:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None  # a second connection would not see this database
    return _SqliteRotator.for_engine(engine)


async def _fetch(engine: AsyncEngine, sql: str, params: dict[str, Any]) -> list[Any] | None:
    """Rows of a read whose placeholders are `{name}` (text parameters); None off the fast path."""
    if engine.dialect.name == "postgresql":
        names = list(params)
        query = sql.format(**{name: f"${index + 1}::text" for index, name in enumerate(names)})
        async with planned.for_engine(engine).connection() as connection:
            rows = await connection.fetch(query, *(params[name] for name in names))
        return [tuple(row.values()) for row in rows]
    sqlite = _sqlite(engine)
    if sqlite is None:
        return None
    query = sql.format(**{name: f":{name}" for name in params})
    return sqlite.connection.execute(query, params).fetchall()


async def lookup(
    engine: AsyncEngine, environment_id: str, email_normalized: str, api_key_hash: str
) -> Account | None:
    """The API key's environment and the account of the e-mail, in one read."""
    rows = await _fetch(
        engine, _LOOKUP, {"key": api_key_hash, "env": environment_id, "email": email_normalized}
    )
    if rows is None:
        return None
    values = rows[0]
    key_environment_id, password_hash, user = values[0], values[1], values[2:]
    if user[0] is None:
        return Account(key_environment_id, None, None)
    read_time = _sqlite_read_time if engine.dialect.name == "sqlite" else (lambda value: value)
    fields = dict(zip(USER_COLUMNS, user, strict=True))
    for name in ("last_sign_in_at", "created_at", "updated_at"):
        fields[name] = read_time(fields[name])
    if isinstance(fields["metadata"], str):
        fields["metadata"] = json.loads(fields["metadata"])
    fields["email_verified"] = bool(fields["email_verified"])
    return Account(key_environment_id, password_hash, fields)


async def organizations(
    engine: AsyncEngine, environment_id: str, user_id: str
) -> list[tuple[str, str]] | None:
    """(id, name) of the organizations where the user's membership is active, by name."""
    return await _fetch(engine, _ORGANIZATIONS, {"env": environment_id, "user": user_id})


async def roles(
    engine: AsyncEngine, environment_id: str, user_id: str, organization_id: str
) -> list[tuple[str, int, str | None]] | None:
    """(role slug, priority, permission slug) of the user's active membership."""
    return await _fetch(
        engine, _ROLES, {"env": environment_id, "user": user_id, "org": organization_id}
    )


# A sign-in's rows are written while argon2 runs only when fewer planned connections than this
# are busy: each such write holds one for the length of a hash.
MAX_OPEN_RECORDS = 6


class OpenRecord:
    """A sign-in written while its password is being checked, in a transaction left open:
    `commit` makes it real once the password matched; `rollback` leaves no trace of it."""

    def __init__(self, connections: planned.PlannedConnections, connection: Any) -> None:
        self.connections = connections
        self.connection = connection
        self.done = False

    async def commit(self, new_password_hash: str | None, user_id: str) -> bool:
        """False when the commit failed; nothing is then written (the caller writes again)."""
        self.done = True
        try:
            if new_password_hash is not None:
                await self.connection.execute(
                    "UPDATE users SET password_hash = $1::text WHERE id = $2::text",
                    new_password_hash,
                    user_id,
                )
            await self.connection.execute("COMMIT")
        except BaseException as error:
            self.connections.discard(self.connection)  # the server rolls back what it had
            if not isinstance(error, Exception):
                raise
            return False
        await self.connections.release(self.connection)
        return True

    async def rollback(self) -> None:
        if self.done:
            return
        self.done = True
        try:
            await self.connection.execute("ROLLBACK")
        except BaseException as error:
            self.connections.discard(self.connection)  # the server rolls back what it had
            if not isinstance(error, Exception):
                raise
            return
        await self.connections.release(self.connection)


async def open_record(
    engine: AsyncEngine,
    *,
    now: dt.datetime,
    user_id: str,
    session: dict[str, Any],
    refresh_token_id: str,
    refresh_token_hash: str,
) -> OpenRecord | None:
    """On PostgreSQL, `record` in a transaction that stays open until the caller knows whether
    the password matched; None elsewhere, or when too many are open (then `record` after)."""
    if engine.dialect.name != "postgresql":
        return None
    connections = planned.for_engine(engine)
    if connections.in_use >= MAX_OPEN_RECORDS:
        return None
    connection = await connections.acquire()
    try:
        await connection.execute("BEGIN")
        await connection.execute(
            _PG_RECORD,
            now,
            None,
            user_id,
            *(session[column] for column in _SESSION_COLUMNS),
            refresh_token_id,
            refresh_token_hash,
        )
    except BaseException:
        connections.discard(connection)  # an open transaction ends with its connection
        raise
    return OpenRecord(connections, connection)


async def record(
    engine: AsyncEngine,
    *,
    now: dt.datetime,
    user_id: str,
    new_password_hash: str | None,
    session: dict[str, Any],
    refresh_token_id: str,
    refresh_token_hash: str,
) -> bool:
    """Write the sign-in in one step; False when it was not written here (take the ORM path).

    `session` has every column of _SESSION_COLUMNS."""
    if engine.dialect.name == "postgresql":
        async with planned.for_engine(engine).connection() as connection:
            await connection.execute(
                _PG_RECORD,
                now,
                new_password_hash,
                user_id,
                *(session[column] for column in _SESSION_COLUMNS),
                refresh_token_id,
                refresh_token_hash,
            )
        return True
    sqlite = _sqlite(engine)
    if sqlite is None or not await sqlite.begin():
        return False
    params = {
        column: _sqlite_time(value) if isinstance(value, dt.datetime) else value
        for column, value in session.items()
    }
    params.update(
        now=_sqlite_time(now),
        new_hash=new_password_hash,
        user_id=user_id,
        token_id=refresh_token_id,
        token_hash=refresh_token_hash,
    )
    connection = sqlite.connection
    try:
        connection.execute(_SQLITE_TOUCH, params)
        connection.execute(_SQLITE_ADD_SESSION, params)
        connection.execute(_SQLITE_ADD_REFRESH, params)
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
    return True
