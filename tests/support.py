"""Test helpers: databases (SQLite file and PostgreSQL schema), live servers, environments."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from authkeep.app import create_app
from authkeep.config import Settings
from authkeep.crypto.keys import SecretBox
from authkeep.services.environments import create_environment
from authkeep.store.db import create_engine, migrate, session_factory

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("AUTHKEEP_SHARED_DIR", ROOT.parent / "shared"))
POSTGRES_URL = os.environ.get(
    "AUTHKEEP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
SECRET = "test-secret-" + "x" * 40


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


async def _postgres_admin(statement: str) -> None:
    import asyncpg

    url = POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(url, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def create_postgres_schema() -> str:
    """A schema of its own per run, so two runs on one server never collide."""
    schema = f"authkeep_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    run(_postgres_admin(f'CREATE SCHEMA "{schema}"'))
    return schema


def drop_postgres_schema(schema: str) -> None:
    run(_postgres_admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


def postgres_url(schema: str) -> str:
    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}schema={schema}"


def migrate_database(database_url: str) -> None:
    async def go() -> None:
        engine = create_engine(database_url, pool_size=1)
        try:
            await migrate(engine)
        finally:
            await engine.dispose()

    run(go())


@dataclass
class TestEnvironment:
    __test__ = False  # a fixture value, not a test class
    base_url: str
    environment_id: str
    client_id: str
    api_key: str
    name: str


def make_environment(
    database_url: str, base_url: str = "", kind: str = "development", **options: Any
) -> TestEnvironment:
    name = f"test-{uuid.uuid4().hex[:10]}"

    async def go() -> TestEnvironment:
        engine = create_engine(database_url, pool_size=1)
        try:
            async with session_factory(engine)() as session:
                made = await create_environment(session, SecretBox(SECRET), name, kind, **options)
                await session.commit()
                return TestEnvironment(
                    base_url, made.environment.id, made.client.id, made.api_key, name
                )
        finally:
            await engine.dispose()

    return run(go())


class LiveServer:
    """The real app under uvicorn on a free loopback port, in a background thread."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.settings = settings
        self.state: Any = None
        self.port = settings.port
        self.base_url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the live server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_live_server(database_url: str, wrap: Any = None, **settings: Any) -> LiveServer:
    port = free_port()
    config = Settings(
        database_url=database_url,
        secret_key=SECRET,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        **settings,
    )
    authkeep_app = create_app(config)
    app: ASGIApp = authkeep_app if wrap is None else wrap(authkeep_app)
    server = LiveServer(app, config)
    server.state = authkeep_app.state.authkeep  # its caches, for tests that must empty them
    return server.start()


def execute_updates(database_url: str, *statements: Any) -> None:
    """Run SQLAlchemy statements against a test database in one transaction."""

    async def go() -> None:
        engine = create_engine(database_url, pool_size=1)
        try:
            async with session_factory(engine)() as session:
                for statement in statements:
                    await session.execute(statement)
                await session.commit()
        finally:
            await engine.dispose()

    run(go())


def set_access_token_ttl(database_url: str, environment_id: str, seconds: int) -> None:
    from sqlalchemy import update

    from authkeep.store.models import Environment

    execute_updates(
        database_url,
        update(Environment)
        .where(Environment.id == environment_id)
        .values(access_token_ttl=seconds),
    )
