"""The refresh grant's common case in as few database steps as each backend allows.

A refresh of an active token of a live session, by its own client, without an organization
switch, is the request authkeep answers most. Here it is one statement on PostgreSQL (a
data-modifying CTE: claim the token, add its successor, record activity, read the session, the
user and the membership's roles) and one short transaction of plain statements on SQLite, both
on the driver connection without the ORM. Every condition of the claim is in its WHERE clause, so
a token that is not in that state claims nothing and changes nothing: the caller then takes the
full path (services/sessions.py), which explains the failure, honours the grace window, detects
reuse and switches organizations.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

# A SQLite writer that finds the database locked yields to the event loop this long, doubling up
# to the maximum, and gives up (falling back to the pooled writer) after the deadline.
SQLITE_RETRY_FIRST = 0.0005
SQLITE_RETRY_MAX = 0.01
SQLITE_RETRY_DEADLINE = 2.0

USER_COLUMNS = (
    "id",
    "email",
    "email_verified",
    "first_name",
    "last_name",
    "name",
    "profile_picture_url",
    "external_id",
    "metadata",
    "locale",
    "last_sign_in_at",
    "created_at",
    "updated_at",
)
_USER_SELECT = ", ".join(f"u.{column}" for column in USER_COLUMNS)
_SESSION_SELECT = "s.id, s.user_id, s.organization_id, s.auth_method, s.auth_time, s.client_id"

_ROLES_OF_MEMBERSHIP = """
    FROM organization_memberships m
    JOIN membership_roles mr ON mr.membership_id = m.id
    JOIN roles r ON r.id = mr.role_id
    LEFT JOIN role_permissions rp ON rp.role_id = r.id
    LEFT JOIN permissions p ON p.id = rp.permission_id
    WHERE m.environment_id = {env} AND m.user_id = {user} AND m.organization_id = {org}
      AND m.status = 'active'
"""

# The claim's conditions, shared by both backends ({n} are placeholders).
_CLAIMABLE = """
    token_hash = {token_hash} AND environment_id = {env} AND status = 'active'
    AND EXISTS (
        SELECT 1 FROM sessions
        WHERE sessions.id = refresh_tokens.session_id
          AND client_id = {client} AND status = 'active' AND expires_at > {now}
          AND last_active_at > {idle_cutoff}
          AND ({organization} IS NULL OR organization_id = {organization})
    )
    AND ({api_key_hash} IS NULL OR EXISTS (
        SELECT 1 FROM api_keys
        WHERE key_hash = {api_key_hash} AND environment_id = {env} AND revoked_at IS NULL
    ))
"""

_PLACES = {
    "token_hash": 1,
    "env": 2,
    "client": 3,
    "now": 4,
    "idle_cutoff": 5,
    "organization": 6,
    "api_key_hash": 7,
    "successor_encrypted": 8,
    "new_id": 9,
    "new_hash": 10,
    "activity_cutoff": 11,
}


def _pg(name: str) -> str:
    casts = {
        "now": "timestamptz",
        "idle_cutoff": "timestamptz",
        "activity_cutoff": "timestamptz",
        "successor_encrypted": "bytea",
    }
    return f"${_PLACES[name]}::{casts.get(name, 'text')}"


_PG_ROTATE = f"""
WITH claimed AS (
    UPDATE refresh_tokens
    SET status = 'rotated', rotated_at = {_pg("now")},
        successor_encrypted = {_pg("successor_encrypted")}
    WHERE {_CLAIMABLE.format(**{name: _pg(name) for name in _PLACES})}
    RETURNING session_id
), added AS (
    INSERT INTO refresh_tokens (id, environment_id, session_id, token_hash, status, created_at)
    SELECT {_pg("new_id")}, {_pg("env")}, session_id, {_pg("new_hash")}, 'active', {_pg("now")}
    FROM claimed
), touched AS (
    UPDATE sessions SET last_active_at = {_pg("now")}
    FROM claimed
    WHERE sessions.id = claimed.session_id AND sessions.last_active_at <= {_pg("activity_cutoff")}
)
SELECT {_SESSION_SELECT}, {_USER_SELECT},
    (SELECT json_agg(json_build_array(r.slug, r.priority, p.slug))
     {_ROLES_OF_MEMBERSHIP.format(env=_pg("env"), user="s.user_id", org="s.organization_id")}
    ) AS roles
FROM claimed
JOIN sessions s ON s.id = claimed.session_id
JOIN users u ON u.id = s.user_id
"""

_SQLITE_CLAIM = f"""
UPDATE refresh_tokens SET status = 'rotated', rotated_at = :now,
    successor_encrypted = :successor_encrypted
WHERE {_CLAIMABLE.format(**{name: ":" + name for name in _PLACES})}
RETURNING session_id
"""
_SQLITE_ADD = """
INSERT INTO refresh_tokens (id, environment_id, session_id, token_hash, status, created_at)
VALUES (:new_id, :env, :session_id, :new_hash, 'active', :now)
"""
_SQLITE_TOUCH = """
UPDATE sessions SET last_active_at = :now
WHERE id = :session_id AND last_active_at <= :activity_cutoff
"""
_SQLITE_READ = f"""
SELECT {_SESSION_SELECT}, {_USER_SELECT}
FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = :session_id
"""
_SQLITE_ROLES = "SELECT r.slug, r.priority, p.slug" + _ROLES_OF_MEMBERSHIP.format(
    env=":env", user=":user_id", org=":organization_id"
)


@dataclass(frozen=True)
class Rotation:
    """What the claim needs: the presented token and the successor to store in its place."""

    token_hash: str
    environment_id: str
    client_id: str
    now: dt.datetime
    idle_cutoff: dt.datetime
    activity_cutoff: dt.datetime
    organization_id: str | None  # the organization the request names, if any
    api_key_hash: str | None  # the client secret's hash, when the request gave one
    successor_id: str
    successor_hash: str
    successor_encrypted: bytes


@dataclass(frozen=True)
class Rotated:
    session: dict[str, Any]  # id, user_id, organization_id, auth_method, auth_time, client_id
    user: dict[str, Any]  # USER_COLUMNS
    roles: list[tuple[str, int, str | None]]  # (role slug, priority, permission slug)


async def rotate(engine: AsyncEngine, rotation: Rotation) -> Rotated | None:
    """Rotate in one step, or None when the token is not simply refreshable right now."""
    if engine.dialect.name == "postgresql":
        return await _rotate_postgres(engine, rotation)
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None  # a second connection would not see this database
    return await _SqliteRotator.for_engine(engine).rotate(rotation)


# PostgreSQL ------------------------------------------------------------------------------------


async def _rotate_postgres(engine: AsyncEngine, r: Rotation) -> Rotated | None:
    raw = await engine.raw_connection()
    try:
        row = await raw.driver_connection.fetchrow(  # type: ignore[union-attr]
            _PG_ROTATE,
            r.token_hash,
            r.environment_id,
            r.client_id,
            r.now,
            r.idle_cutoff,
            r.organization_id,
            r.api_key_hash,
            r.successor_encrypted,
            r.successor_id,
            r.successor_hash,
            r.activity_cutoff,
        )
    finally:
        raw.close()
    if row is None:
        return None
    values = list(row.values())
    roles = values[-1]
    if isinstance(roles, str):
        roles = json.loads(roles)
    return _rotated(values[:6], values[6:-1], roles or [], lambda v: v)


# SQLite ----------------------------------------------------------------------------------------


def _sqlite_time(value: dt.datetime) -> str:
    # The text form SQLAlchemy stores (naive UTC), so comparisons stay lexicographic.
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _sqlite_read_time(value: Any) -> Any:
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
    return value


class _SqliteRotator:
    """A connection of its own, used on the event loop: each step takes microseconds, and a busy
    database makes it yield to the loop instead of blocking it."""

    _by_path: dict[str, _SqliteRotator] = {}

    def __init__(self, path: str) -> None:
        # Imported here: a PostgreSQL deployment never loads SQLite (~1 MB of a worker's memory).
        import sqlite3

        self.busy_error = sqlite3.OperationalError
        self.connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        # As store/db.py sets for every connection (synchronous is per connection: left at FULL,
        # each commit would wait for an fsync), except that a busy database answers at once.
        self.connection.execute("PRAGMA foreign_keys=ON")
        self.connection.execute("PRAGMA synchronous=NORMAL")
        self.connection.execute("PRAGMA busy_timeout=0")

    @classmethod
    def for_engine(cls, engine: AsyncEngine) -> _SqliteRotator:
        path = str(engine.url.database)
        rotator = cls._by_path.get(path)
        if rotator is None:
            rotator = cls._by_path[path] = cls(path)
        return rotator

    async def begin(self) -> bool:
        delay = SQLITE_RETRY_FIRST
        deadline = time.monotonic() + SQLITE_RETRY_DEADLINE
        while True:
            try:
                self.connection.execute("BEGIN IMMEDIATE")
                return True
            except self.busy_error as error:
                if "locked" not in str(error) and "busy" not in str(error):
                    raise
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(delay)
            delay = min(delay * 2, SQLITE_RETRY_MAX)

    async def rotate(self, r: Rotation) -> Rotated | None:
        if not await self.begin():
            return None
        try:
            result = self._rotate(r)
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("ROLLBACK" if result is None else "COMMIT")
        return result

    def _rotate(self, r: Rotation) -> Rotated | None:
        params: dict[str, Any] = {
            "token_hash": r.token_hash,
            "env": r.environment_id,
            "client": r.client_id,
            "now": _sqlite_time(r.now),
            "idle_cutoff": _sqlite_time(r.idle_cutoff),
            "organization": r.organization_id,
            "api_key_hash": r.api_key_hash,
            "successor_encrypted": r.successor_encrypted,
            "new_id": r.successor_id,
            "new_hash": r.successor_hash,
            "activity_cutoff": _sqlite_time(r.activity_cutoff),
        }
        claimed = self.connection.execute(_SQLITE_CLAIM, params).fetchone()
        if claimed is None:
            return None
        params["session_id"] = claimed[0]
        self.connection.execute(_SQLITE_ADD, params)
        self.connection.execute(_SQLITE_TOUCH, params)
        row = self.connection.execute(_SQLITE_READ, params).fetchone()
        session, user = row[:6], row[6:]
        roles: list[Any] = []
        if session[2] is not None:
            roles = self.connection.execute(
                _SQLITE_ROLES,
                {"env": r.environment_id, "user_id": session[1], "organization_id": session[2]},
            ).fetchall()
        return _rotated(session, user, roles, _sqlite_read_time)


def _rotated(session: Any, user: Any, roles: Any, read_time: Any) -> Rotated:
    session_fields = dict(
        zip(
            ("id", "user_id", "organization_id", "auth_method", "auth_time", "client_id"),
            session,
            strict=True,
        )
    )
    session_fields["auth_time"] = read_time(session_fields["auth_time"])
    user_fields = dict(zip(USER_COLUMNS, user, strict=True))
    for name in ("last_sign_in_at", "created_at", "updated_at"):
        user_fields[name] = read_time(user_fields[name])
    if isinstance(user_fields["metadata"], str):
        user_fields["metadata"] = json.loads(user_fields["metadata"])
    user_fields["email_verified"] = bool(user_fields["email_verified"])
    return Rotated(session_fields, user_fields, [tuple(role) for role in roles])
