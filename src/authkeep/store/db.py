"""Engine, sessions and migrations.

`postgresql://` and `sqlite://` URLs get their async drivers. A `schema=NAME` query parameter on a
PostgreSQL URL keeps every table in that schema (its `search_path`), which lets several
deployments, or test runs, share one database.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, make_url, text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

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


def create_engine(database_url: str, pool_size: int = 10) -> AsyncEngine:
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


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
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


def pending_migrations(database_url: str) -> list[str]:
    """Revisions the database lacks; `authkeep serve` refuses to start while there are any."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    def compare(connection: Connection) -> list[str]:
        current = MigrationContext.configure(connection).get_current_heads()
        script = ScriptDirectory.from_config(_alembic_config(connection))
        applied: set[str] = set()
        for head in current:
            applied |= {r.revision for r in script.iterate_revisions(head, "base")}
        return [r.revision for r in script.walk_revisions() if r.revision not in applied]

    async def run() -> list[str]:
        engine = create_engine(database_url, pool_size=1)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(compare)
        finally:
            await engine.dispose()

    return asyncio.run(run())
