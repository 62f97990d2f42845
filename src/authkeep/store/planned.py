"""PostgreSQL connections for the hot statements that skip the ORM (store/rotation.py,
store/code_exchange.py, store/sign_in.py), each planning its statements once.

Left to choose, PostgreSQL plans a prepared statement afresh on every call while a generic plan
does not look cheaper than the custom ones, and for the rotation CTE or the sign-in write that
planning costs more than running the statement (~0.6 ms of server CPU against ~0.3 ms). These
connections set `plan_cache_mode = force_generic_plan` once; the statements they run are all key
lookups, for which the generic plan is the right one. They also set `enable_seqscan = off`: a plan
made while a table was nearly empty (a new deployment's first codes and tokens) scans it whole, and
a connection keeps that plan until the next ANALYZE of the table replans it. They come from the
engine's pool, so they have its settings (schema, TLS, credentials), and are then detached from it:
at most `KEEP` stay open per worker, the rest are closed when returned, and `close(engine)` closes
them all on shutdown. The pool's other connections keep PostgreSQL's default for the ORM's queries.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

KEEP = 8
UNDEFINED_OBJECT = "42704"  # PostgreSQL before 12 has no plan_cache_mode


class PlannedConnections:
    def __init__(self, engine: AsyncEngine, loop: asyncio.AbstractEventLoop) -> None:
        self.engine = engine
        self.loop = loop
        self.idle: list[Any] = []  # asyncpg connections
        self.in_use = 0

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        """An asyncpg connection for one statement; one that raised is closed, not reused."""
        connection = await self.acquire()
        try:
            yield connection
        except BaseException:
            self.discard(connection)
            raise
        await self.release(connection)

    async def acquire(self) -> Any:
        """A connection to give back with `release` (or `terminate()` and `discard`)."""
        connection = self.idle.pop() if self.idle else await self._connect()
        self.in_use += 1
        return connection

    async def release(self, connection: Any) -> None:
        self.in_use -= 1
        if connection.is_in_transaction():  # never handed out with someone's rows in it
            connection.terminate()
        elif len(self.idle) < KEEP and not connection.is_closed():
            self.idle.append(connection)
        else:
            await self._close(connection)

    def discard(self, connection: Any) -> None:
        """Give up a connection in an unknown state."""
        self.in_use -= 1
        connection.terminate()

    async def _connect(self) -> Any:
        raw = await self.engine.raw_connection()
        connection: Any = raw.driver_connection
        raw.detach()
        try:
            await connection.execute("SET enable_seqscan = off")
            await connection.execute("SET plan_cache_mode = force_generic_plan")
        except Exception as error:
            if getattr(error, "sqlstate", None) != UNDEFINED_OBJECT:
                connection.terminate()
                raise
        except BaseException:
            connection.terminate()
            raise
        return connection

    async def close(self) -> None:
        idle, self.idle = self.idle, []
        for connection in idle:
            await self._close(connection)

    @staticmethod
    async def _close(connection: Any) -> None:
        try:
            await connection.close(timeout=5)
        except Exception:
            connection.terminate()


_by_engine: weakref.WeakKeyDictionary[AsyncEngine, PlannedConnections] = weakref.WeakKeyDictionary()


def for_engine(engine: AsyncEngine) -> PlannedConnections:
    """This event loop's planned connections to `engine`'s PostgreSQL database."""
    loop = asyncio.get_running_loop()
    planned = _by_engine.get(engine)
    if planned is None or planned.loop is not loop:
        planned = _by_engine[engine] = PlannedConnections(engine, loop)
    return planned


async def close(engine: AsyncEngine) -> None:
    """Close the planned connections kept for `engine` (on shutdown)."""
    planned = _by_engine.pop(engine, None)
    if planned is not None:
        await planned.close()


def in_use(engine: AsyncEngine) -> int:
    """How many of `engine`'s planned connections are out right now (0 when it has none)."""
    planned = _by_engine.get(engine)
    return 0 if planned is None else planned.in_use
