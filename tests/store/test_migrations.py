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
