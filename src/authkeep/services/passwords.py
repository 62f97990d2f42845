"""Password hashing: argon2id at OWASP parameters, run in worker threads so hashing never blocks
the event loop."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import anyio

from authkeep.errors import BadRequest

if TYPE_CHECKING:
    from argon2 import PasswordHasher


@functools.cache
def hasher() -> PasswordHasher:
    """argon2id at the OWASP Password Storage Cheat Sheet's m=19 MiB, t=2, p=1; imported on first
    use, so a worker that never handles a password does not carry it."""
    from argon2 import PasswordHasher
    from argon2.low_level import Type

    return_freed_hash_memory()
    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)


MIN_LENGTH = 8
MAX_LENGTH = 1024
_LIMITER: anyio.CapacityLimiter | None = None


def _limiter() -> anyio.CapacityLimiter:
    # Bounded so a burst of sign-ins cannot take every thread from other work.
    global _LIMITER
    if _LIMITER is None:
        _LIMITER = anyio.CapacityLimiter(2)
    return _LIMITER


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
    return await anyio.to_thread.run_sync(hasher().hash, password, limiter=_limiter())


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


async def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; the same argon2 work is done for a missing hash."""
    return await anyio.to_thread.run_sync(_verify, password_hash, password, limiter=_limiter())


def needs_rehash(password_hash: str) -> bool:
    from argon2.exceptions import InvalidHashError

    try:
        return hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return False


def return_freed_hash_memory() -> None:
    """Each argon2id hash takes a 19 MiB block. glibc raises its mmap threshold after the first
    such block is freed and then keeps later ones in every thread's arena, so a worker that has
    hashed in a few threads holds ~20 MiB per thread for good. A fixed threshold makes large
    blocks mmapped and returned to the system when freed. No-op off glibc."""
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        m_mmap_threshold = -3
        libc.mallopt(m_mmap_threshold, 1024 * 1024)
    except (OSError, AttributeError):
        return
