"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from authkeep.store.db import create_engine
from authkeep.store.models import Base
from tests.support import run


def test_migrated_schema_matches_models(database_url: str) -> None:
    async def diff() -> list[object]:
        engine = create_engine(database_url, pool_size=1)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(
                    lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
                )
        finally:
            await engine.dispose()

    assert run(diff()) == []


def test_refresh_tokens_leave_room_for_their_rotation(database_url: str) -> None:
    """Each token is updated once; on PostgreSQL its pages keep room for that (migration 0004,
    which SQLite records too but has nothing to set for)."""
    postgres = database_url.startswith("postgresql")

    async def state() -> tuple[str, list[str]]:
        engine = create_engine(database_url, pool_size=1)
        try:
            async with engine.connect() as connection:
                version = await connection.exec_driver_sql(
                    "SELECT version_num FROM alembic_version"
                )
                options: list[str] = []
                if postgres:
                    found = await connection.exec_driver_sql(
                        "SELECT reloptions FROM pg_class WHERE oid = 'refresh_tokens'::regclass"
                    )
                    options = list(found.scalar_one() or [])
                return version.scalar_one(), options
        finally:
            await engine.dispose()

    assert run(state()) == ("0004", ["fillfactor=70"] if postgres else [])
