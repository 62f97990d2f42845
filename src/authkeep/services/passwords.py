"""Password hashing: argon2id at OWASP parameters, on two threads of its own so hashing never
blocks the event loop and a burst of sign-ins cannot take the threads other work needs."""

from __future__ import annotations

import asyncio
import functools
import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from authkeep.errors import BadRequest

if TYPE_CHECKING:
    from argon2 import PasswordHasher


@functools.cache
def hasher() -> PasswordHasher:
    """argon2id at the OWASP Password Storage Cheat Sheet's m=19 MiB, t=2, p=1; imported on first
    use, so a worker that never handles a password does not carry it."""
    from argon2 import PasswordHasher
    from argon2.low_level import Type

    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)


MIN_LENGTH = 8
MAX_LENGTH = 1024
HASH_THREADS = 2
# After this long without a hash, the threads' 19 MiB blocks go back to the system.
IDLE_TRIM_SECONDS = 5.0
T = TypeVar("T")


class _HashPool:
    """Each argon2id hash works in a 19 MiB block. On the same two threads, glibc keeps those
    blocks in the threads' arenas, so hashes in a burst reuse memory already mapped instead of
    faulting in fresh pages (which made a sign-in ~40% slower); at most 2 x 19 MiB stay
    resident, and `malloc_trim` returns them once hashing has been idle for a few seconds."""

    def __init__(self) -> None:
        self.executor = ThreadPoolExecutor(HASH_THREADS, thread_name_prefix="authkeep-argon2")
        self.lock = threading.Lock()
        self.in_flight = 0
        self.generation = 0

    async def run(
        self, work: Callable[..., T], *args: Any, started: asyncio.Event | None = None
    ) -> T:
        """`work(*args)` on a hash thread; `started` is set once that thread has taken it."""
        loop = asyncio.get_running_loop()
        if started is not None:
            work = functools.partial(_announce, loop, started, work)
        with self.lock:
            self.in_flight += 1
            self.generation += 1
        try:
            return await loop.run_in_executor(self.executor, work, *args)
        finally:
            with self.lock:
                self.in_flight -= 1
                generation = self.generation
            loop.call_later(IDLE_TRIM_SECONDS, self._trim_if_idle, generation)

    def _trim_if_idle(self, generation: int) -> None:
        with self.lock:
            idle = self.in_flight == 0 and self.generation == generation
        if idle:
            self.executor.submit(return_free_memory)


def _announce(
    loop: asyncio.AbstractEventLoop, started: asyncio.Event, work: Callable[..., T], *args: Any
) -> T:
    loop.call_soon_threadsafe(started.set)
    return work(*args)


@functools.cache
def _pool() -> _HashPool:
    return _HashPool()


def share_one_allocator_arena() -> None:
    """glibc gives each thread its own malloc arena and `malloc_trim` cannot shrink those, so a
    hash thread's freed 19 MiB block would stay resident for good. With one arena for the
    process (Python's small objects do not use it), the idle trim returns it. Call before
    threads start; no-op off glibc."""
    import ctypes

    m_arena_max = -8
    try:
        ctypes.CDLL("libc.so.6").mallopt(m_arena_max, 1)
    except (OSError, AttributeError):
        return


def return_free_memory() -> None:
    """glibc's malloc_trim: give free heap pages of every arena back to the system (no-op
    elsewhere)."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        return


def check_strength(password: str) -> None:
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(
            {"code": "password_too_short", "message": f"Use at least {MIN_LENGTH} characters."}
        )
    if len(password) > MAX_LENGTH:
        problems.append(
            {"code": "password_too_long", "message": f"Use at most {MAX_LENGTH} characters."}
        )
    if password and len(set(password)) < 3:
        problems.append(
            {"code": "password_too_simple", "message": "Use more than two different characters."}
        )
    if problems:
        raise BadRequest(
            "password_strength_error",
            "The password does not meet the requirements.",
            errors=problems,
        )


async def hash_password(password: str) -> str:
    check_strength(password)
    return await _pool().run(hasher().hash, password)


async def rehash(password: str) -> str:
    """A hash at today's parameters of a password that was just verified. No strength check:
    refusing a correct password at sign-in because an older policy allowed it helps nobody."""
    return await _pool().run(hasher().hash, password)


def check_imported_hash(password_hash: str, password_hash_type: str) -> str:
    """Accept a hash exported from another system. argon2 hashes are stored as they are."""
    if password_hash_type != "argon2":  # noqa: S105 - a hash format name, not a secret
        raise BadRequest(
            "invalid_password_hash",
            f"Importing {password_hash_type} hashes is not supported yet; argon2 hashes are.",
        )
    if not password_hash.startswith("$argon2"):
        raise BadRequest("invalid_password_hash", "This is not an argon2 hash in PHC format.")
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        hasher().verify(password_hash, "\x00authkeep-format-check")
    except InvalidHashError:
        raise BadRequest("invalid_password_hash", "This argon2 hash cannot be parsed.") from None
    except VerificationError:
        pass
    return password_hash


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this when the e-mail is unknown makes both answers take the same time."""
    return hasher().hash("authkeep-dummy-password-for-timing")


def _verify(password_hash: str | None, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        matches = hasher().verify(password_hash or _dummy_hash(), password)
        return matches and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(
    password_hash: str | None, password: str, started: asyncio.Event | None = None
) -> bool:
    """True when `password` matches; the same argon2 work is done for a missing hash.

    `started` is set once a hash thread has the work: code meant to run beside the hash can
    wait for it, so that the hash thread does not first wait for the interpreter lock while
    that code runs (measured ~0.3 ms per sign-in)."""
    return await _pool().run(_verify, password_hash, password, started=started)


@functools.cache
def _current_shape() -> tuple[str, int]:
    """The PHC prefix and length of a hash made today, e.g. `$argon2id$v=19$m=19456,t=2,p=1$`."""
    current = hasher()
    prefix = (
        f"$argon2id$v=19$m={current.memory_cost},t={current.time_cost},p={current.parallelism}$"
    )
    salt, digest = (math.ceil(n * 4 / 3) for n in (current.salt_len, current.hash_len))
    return prefix, len(prefix) + salt + 1 + digest


def needs_rehash(password_hash: str) -> bool:
    prefix, length = _current_shape()
    if len(password_hash) == length and password_hash.startswith(prefix):
        return False  # the common case, without parsing the hash
    from argon2.exceptions import InvalidHashError

    try:
        return hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return False
