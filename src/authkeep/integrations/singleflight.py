"""One refresh per session in a process.

A refresh token is single-use: when a page fires eight requests whose access token has just
expired, eight refreshes would each rotate the token, and the losers would present a token that
is already spent. The server forgives that for a short grace window; past it, it ends the whole
session (CONTRACT.md §4.6). So concurrent callers with the same key share one call, and a result
is handed out again for `reuse_seconds` to requests that still carry the old cookie (the browser
has not seen the new one yet). Failures are shared by the callers waiting for them but never
kept. Keys are hashed: refresh tokens are not kept as such.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

__all__ = ["SingleFlight"]

T = TypeVar("T")


class _Call(Generic[T]):
    """A synchronous call in progress; waiters block on `done`."""

    __slots__ = ("done", "error", "value")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: T | None = None
        self.error: BaseException | None = None


class SingleFlight(Generic[T]):
    """Run `call` once per key at a time, for threads (`run`) and for asyncio tasks (`arun`).

    >>> flight: SingleFlight[dict] = SingleFlight(reuse_seconds=10)
    >>> flight.run(refresh_token, lambda: post_refresh(refresh_token))
    """

    def __init__(self, reuse_seconds: float = 10.0, clock: Callable[[], float] = time.monotonic):
        self.reuse_seconds = reuse_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._calls: dict[bytes, _Call[T]] = {}
        self._tasks: dict[bytes, asyncio.Task[T]] = {}
        self._results: dict[bytes, tuple[float, T]] = {}

    def run(self, key: str, call: Callable[[], T]) -> T:
        """`call()`, or the result of the same key's call in progress or just finished."""
        digest = hashlib.sha256(key.encode()).digest()
        with self._lock:
            cached = self._recent(digest)
            if cached is not None:
                return cached[1]
            current = self._calls.get(digest)
            leader = current is None
            if current is None:
                current = self._calls[digest] = _Call()
        if not leader:
            current.done.wait()
            if current.error is not None:
                raise current.error
            return current.value  # type: ignore[return-value]  # set when error is None
        try:
            current.value = call()
        except BaseException as error:
            current.error = error
            raise
        finally:
            with self._lock:
                del self._calls[digest]
                if current.error is None:
                    self._keep(digest, current.value)  # type: ignore[arg-type]
            current.done.set()
        return current.value

    async def arun(self, key: str, call: Callable[[], Awaitable[T]]) -> T:
        """The asyncio flavour of `run`: callers on one event loop share one task."""
        digest = hashlib.sha256(key.encode()).digest()
        loop = asyncio.get_running_loop()
        with self._lock:
            cached = self._recent(digest)
            if cached is not None:
                return cached[1]
            task = self._tasks.get(digest)
            if task is None or task.done() or task.get_loop() is not loop:
                task = loop.create_task(self._lead(digest, call))
                self._tasks[digest] = task
                task.add_done_callback(lambda done: self._finished(digest, done))
        # shield: a cancelled caller (a client gone away) must not cancel the others' refresh.
        return await asyncio.shield(task)

    async def _lead(self, digest: bytes, call: Callable[[], Awaitable[T]]) -> T:
        value = await call()
        # Kept before the task counts as done: a caller arriving between its end and its done
        # callback must find the result, not start a second call.
        with self._lock:
            self._keep(digest, value)
        return value

    def _finished(self, digest: bytes, task: asyncio.Task[T]) -> None:
        with self._lock:
            if self._tasks.get(digest) is task:
                del self._tasks[digest]

    def _recent(self, digest: bytes) -> tuple[float, T] | None:
        now = self._clock()
        for key in [k for k, (at, _) in self._results.items() if now - at > self.reuse_seconds]:
            del self._results[key]
        return self._results.get(digest)

    def _keep(self, digest: bytes, value: T) -> None:
        if self.reuse_seconds > 0:
            self._results[digest] = (self._clock(), value)
