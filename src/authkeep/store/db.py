"""Engine, sessions and migrations.

`postgresql://` and `sqlite://` URLs get their async drivers. A `schema=NAME` query parameter on a
PostgreSQL URL keeps every table in that schema (its `search_path`), which lets several
deployments, or test runs, share one database.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, make_url, text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported only where migrations run: a serving worker never needs its ~11 MB.
MIGRATIONS = Path(__file__).with_name("migrations")


def async_url(database_url: str) -> tuple[URL, dict[str, Any]]:
    """Normalize a database URL to its async driver; returns the URL and connect arguments."""
    url = make_url(database_url)
    connect_args: dict[str, Any] = {}
    backend = url.get_backend_name()
    if backend == "postgresql":
        url = url.set(drivername="postgresql+asyncpg")
        schema = url.query.get("schema")
        if schema:
            url = url.difference_update_query(["schema"])
            connect_args["server_settings"] = {"search_path": str(schema)}
    elif backend == "sqlite":
        url = url.set(drivername="sqlite+aiosqlite")
    else:
        raise ValueError(f"unsupported database {backend!r}: use postgresql:// or sqlite://")
    return url, connect_args


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


# Connections each worker keeps for PostgreSQL (and as many again in a burst). Above the pool
# size, SQLAlchemy closes a returned connection instead of keeping it, so a worker whose load
# often exceeded it opened and closed connections all the time (each a new backend, a new TCP
# and startup handshake, asyncpg's type introspection, and statement preparation): with 10,
# refreshes from 16 connections ran at half the rate with a 3x p99.
POSTGRES_POOL_SIZE = 20


def create_engine(database_url: str, pool_size: int = POSTGRES_POOL_SIZE) -> AsyncEngine:
    url, connect_args = async_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_async_engine(url, connect_args=connect_args)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        url,
        connect_args=connect_args,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        pool_recycle=1800,
    )


def create_engines(database_url: str) -> tuple[AsyncEngine, AsyncEngine]:
    """The engine for writes and the one for reads (autocommit: no BEGIN/COMMIT round trips).

    SQLite has one writer at a time: each process keeps a single write connection, so its
    writers queue in order in the pool instead of racing in SQLite's busy handler, where an
    unlucky one can starve; readers share a pool of their own (WAL lets them run alongside).
    """
    url, _ = async_url(database_url)
    if url.get_backend_name() == "sqlite":
        writer = _sqlite_engine(database_url, pool_size=1, max_overflow=0)
        reader = _sqlite_engine(database_url, pool_size=8, max_overflow=8)
        return writer, reader.execution_options(isolation_level="AUTOCOMMIT")
    engine = create_engine(database_url)
    return engine, engine.execution_options(isolation_level="AUTOCOMMIT")


def _sqlite_engine(database_url: str, pool_size: int, max_overflow: int) -> AsyncEngine:
    url, connect_args = async_url(database_url)
    if url.database in (None, "", ":memory:"):
        # An in-memory database lives in one connection: SQLAlchemy pins it (StaticPool).
        engine = create_async_engine(url, connect_args=connect_args)
    else:
        engine = create_async_engine(
            url,
            connect_args=connect_args,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=60,
        )
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@contextlib.asynccontextmanager
async def open_session(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """`async with sessions() as session`, cheaper when the session holds no transaction on the
    way out (never used, or committed): it holds no connection then, so its objects are only
    detached, without the await of a close (which cost more than the rest of a cached grant's
    bookkeeping). One in a transaction is closed (rolled back), also when the request is
    cancelled."""
    session = sessions()
    try:
        yield session
    finally:
        if session.in_transaction():
            await asyncio.shield(asyncio.ensure_future(session.close()))
        else:
            session.expunge_all()


def _alembic_config(connection: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    from alembic import command

    command.upgrade(_alembic_config(connection), "head")


async def migrate(engine: AsyncEngine) -> None:
    """Apply every Alembic migration that this database lacks."""
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # One migrator at a time when several nodes start together.
            await connection.execute(text("SELECT pg_advisory_xact_lock(7203318)"))
        await connection.run_sync(_upgrade)


def migrate_sync(database_url: str) -> None:
    async def run() -> None:
        engine = create_engine(database_url)
        try:
            await migrate(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())


def _revisions() -> dict[str, str | None]:
    """revision -> down_revision, read from the migration files without importing Alembic."""
    found: dict[str, str | None] = {}
    pattern = re.compile(
        r"^(revision|down_revision)\b[^=]*=\s*(?:'([^']*)'|\"([^\"]*)\"|None)", re.M
    )
    for path in (MIGRATIONS / "versions").glob("*.py"):
        values = {m.group(1): m.group(2) or m.group(3) for m in pattern.finditer(path.read_text())}
        if values.get("revision"):
            found[values["revision"]] = values.get("down_revision")
    return found


def pending_migrations(database_url: str) -> list[str]:
    """Revisions the database lacks; `authkeep serve` refuses to start while there are any.

    Reads `alembic_version` directly, so a serving process never loads Alembic.
    """

    async def current() -> set[str]:
        engine = create_engine(database_url, pool_size=1)
        try:
            async with engine.connect() as connection:
                rows = await connection.execute(text("SELECT version_num FROM alembic_version"))
                return {row[0] for row in rows}
        except Exception:
            return set()
        finally:
            await engine.dispose()

    revisions = _revisions()
    applied: set[str] = set()
    for head in asyncio.run(current()):
        revision: str | None = head
        while revision is not None and revision not in applied:
            applied.add(revision)
            revision = revisions.get(revision)
    return sorted(r for r in revisions if r not in applied)
