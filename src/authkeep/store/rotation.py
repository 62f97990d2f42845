"""The refresh grant's common case in as few database steps as each backend allows.

A refresh of an active token of a live session, by its own client, without an organization switch,
is the request authkeep answers most. Here it is one statement on PostgreSQL (a data-modifying CTE:
claim the token, add its successor, record activity, read the session, the user and the
membership's roles), shared by the refreshes a worker receives together, and one short transaction
of plain statements on SQLite, both on the driver connection without the ORM. Every condition of
the claim is in its WHERE clause, so a token that is not in that state claims nothing and changes
nothing: the caller then takes the full path (services/sessions.py), which explains the failure,
honours the grace window, detects reuse and switches organizations.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
import weakref
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from authkeep.store import planned

log = logging.getLogger(__name__)

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


# On PostgreSQL the refreshes that arrive together are rotated together: one statement over arrays
# of requests (`unnest`), each request a row of `req` (its position in `idx`).
_PG_ARRAYS = {
    "token_hash": "text",
    "env": "text",
    "client": "text",
    "now": "timestamptz",
    "idle_cutoff": "timestamptz",
    "organization": "text",
    "api_key_hash": "text",
    "successor_encrypted": "bytea",
    "new_id": "text",
    "new_hash": "text",
    "activity_cutoff": "timestamptz",
}
_PG_UNNEST = ", ".join(
    f"${place}::{kind}[]" for place, kind in enumerate(_PG_ARRAYS.values(), start=1)
)

_PG_ROTATE = f"""
WITH req AS (
    SELECT * FROM unnest({_PG_UNNEST}) WITH ORDINALITY
        AS req({", ".join("in_" + name for name in _PG_ARRAYS)}, idx)
), claimed AS (
    UPDATE refresh_tokens
    SET status = 'rotated', rotated_at = req.in_now,
        successor_encrypted = req.in_successor_encrypted
    FROM req
    WHERE {_CLAIMABLE.format(**{name: "req.in_" + name for name in _PLACES})}
    RETURNING refresh_tokens.session_id, req.idx, req.in_env AS env, req.in_now AS now,
        req.in_new_id AS new_id, req.in_new_hash AS new_hash,
        req.in_activity_cutoff AS activity_cutoff
), added AS (
    INSERT INTO refresh_tokens (id, environment_id, session_id, token_hash, status, created_at)
    SELECT new_id, env, session_id, new_hash, 'active', now FROM claimed
), touched AS (
    UPDATE sessions SET last_active_at = claimed.now
    FROM claimed
    WHERE sessions.id = claimed.session_id AND sessions.last_active_at <= claimed.activity_cutoff
)
SELECT claimed.idx, {_SESSION_SELECT}, {_USER_SELECT},
    (SELECT json_agg(json_build_array(r.slug, r.priority, p.slug))
     {_ROLES_OF_MEMBERSHIP.format(env="claimed.env", user="s.user_id", org="s.organization_id")}
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


@dataclass(slots=True)
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


@dataclass(slots=True)
class SessionRow:
    """What a refresh reads of its session: the attributes of `models.Session` that the access
    token and the response use, without an ORM instance (nothing here is written back)."""

    id: str
    user_id: str
    organization_id: str | None
    auth_method: str
    auth_time: dt.datetime
    client_id: str
    status: str = "active"


@dataclass(slots=True)
class UserRow:
    """The user as the response shows it: `models.User`'s attributes, without an ORM instance."""

    id: str
    email: str
    email_verified: bool
    first_name: str | None
    last_name: str | None
    name: str | None
    profile_picture_url: str | None
    external_id: str | None
    metadata_: dict[str, Any] | None
    locale: str | None
    last_sign_in_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class Rotated:
    session: SessionRow
    user: UserRow
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
    loop = asyncio.get_running_loop()
    batcher = _batchers.get(engine)
    if batcher is None or batcher.loop is not loop:
        batcher = _batchers[engine] = _PostgresBatcher(engine, loop)
    return await batcher.rotate(r)


# A worker runs one rotation statement at a time: refreshes that arrive meanwhile wait for the
# next, which takes up to PG_MAX_BATCH of them. When a statement has not finished after
# PG_STALL_SECONDS (a lock wait, a slow disk), the waiting ones start another, up to
# PG_MAX_IN_FLIGHT statements. They run on store/planned.py's connections.
PG_MAX_IN_FLIGHT = 4
PG_MAX_BATCH = 64
PG_STALL_SECONDS = 0.05

_batchers: weakref.WeakKeyDictionary[AsyncEngine, _PostgresBatcher] = weakref.WeakKeyDictionary()


class _PostgresBatcher:
    """Refreshes that arrive together share one statement, one round trip and one commit.

    Under load most of a refresh's cost on PostgreSQL is per statement and per commit, not per
    row: a statement for eight tokens costs little more than one for one. A refresh is sent at
    once when no statement is running, so a quiet server adds no wait; on a busy one, the
    refreshes that arrive while a statement runs go together in the next. Every row is claimed
    on its own conditions, and a statement that fails changes nothing, so each request whose
    row did not come back (or whose statement failed) takes the full path.
    """

    def __init__(self, engine: AsyncEngine, loop: asyncio.AbstractEventLoop) -> None:
        self.engine = engine
        self.loop = loop
        self.pending: list[tuple[Rotation, asyncio.Future[Rotated | None]]] = []
        self.in_flight = 0
        self.tasks: set[asyncio.Task[None]] = set()
        self.stall: asyncio.TimerHandle | None = None

    async def rotate(self, r: Rotation) -> Rotated | None:
        future: asyncio.Future[Rotated | None] = self.loop.create_future()
        self.pending.append((r, future))
        if self.in_flight == 0:
            self._start()
        elif self.stall is None and self.in_flight < PG_MAX_IN_FLIGHT:
            self.stall = self.loop.call_later(PG_STALL_SECONDS, self._stalled)
        return await future

    def _start(self) -> None:
        self.in_flight += 1
        task = self.loop.create_task(self._drain())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _stalled(self) -> None:
        self.stall = None
        if self.pending and self.in_flight < PG_MAX_IN_FLIGHT:
            self._start()

    def _progressed(self) -> None:
        if self.stall is not None:
            self.stall.cancel()
            self.stall = None

    async def _drain(self) -> None:
        try:
            while self.pending:
                batch: list[tuple[Rotation, asyncio.Future[Rotated | None]]] = []
                later: list[tuple[Rotation, asyncio.Future[Rotated | None]]] = []
                hashes: set[str] = set()
                for item in self.pending:
                    # The same token twice waits for the next statement, where the first
                    # one's rotation sends it down the full path (the grace window).
                    if len(batch) >= PG_MAX_BATCH or item[0].token_hash in hashes:
                        later.append(item)
                    elif not item[1].done():  # a request that gave up is left out
                        hashes.add(item[0].token_hash)
                        batch.append(item)
                self.pending = later
                if batch:
                    await self._run(batch)
                    self._progressed()
        finally:
            self.in_flight -= 1

    async def _run(self, batch: list[tuple[Rotation, asyncio.Future[Rotated | None]]]) -> None:
        found: dict[int, Rotated] = {}
        try:
            found = await self._execute([r for r, _ in batch])
        except Exception:
            log.exception("rotating %d refresh tokens failed; each takes the full path", len(batch))
        finally:  # also when cancelled (shutdown): no request is left waiting
            for index, (_, future) in enumerate(batch, start=1):
                if not future.done():
                    future.set_result(found.get(index))

    async def _execute(self, batch: list[Rotation]) -> dict[int, Rotated]:
        columns: tuple[list[Any], ...] = tuple([] for _ in _PG_ARRAYS)
        for r in batch:
            for column, value in zip(
                columns,
                (
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
                ),
                strict=True,
            ):
                column.append(value)
        async with planned.for_engine(self.engine).connection() as connection:
            rows = await connection.fetch(_PG_ROTATE, *columns)
        found: dict[int, Rotated] = {}
        for row in rows:
            values = list(row.values())
            roles = values[-1]
            if isinstance(roles, str):
                roles = json.loads(roles)
            found[values[0]] = _rotated(values[1:7], values[7:-1], roles or [], lambda v: v)
        return found


async def close(engine: AsyncEngine) -> None:
    """Forget `engine`'s batcher and close the connections the fast paths keep (on shutdown)."""
    _batchers.pop(engine, None)
    await planned.close(engine)


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
    """Rows as read (SESSION_SELECT, USER_COLUMNS) to a Rotated; `read_time` reads a stored time."""
    metadata = user[8]
    if isinstance(metadata, str):
        metadata = json.loads(metadata)
    return Rotated(
        SessionRow(
            session[0], session[1], session[2], session[3], read_time(session[4]), session[5]
        ),
        UserRow(
            *user[:2],
            bool(user[2]),
            *user[3:8],
            metadata,
            user[9],
            read_time(user[10]),
            read_time(user[11]),
            read_time(user[12]),
        ),
        [tuple(role) for role in roles],
    )
