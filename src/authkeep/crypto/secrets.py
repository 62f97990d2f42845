"""Identifiers, opaque secrets and their hashes.

IDs are `prefix_ULID` (CONTRACT.md §1.7). Secrets handed to clients (API keys, later refresh
tokens and codes) are 256-bit random values; only their SHA-256 is stored. They carry their full
entropy, so a fast hash is right here; passwords use argon2id elsewhere.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ULID_LOCK = threading.Lock()
_last_ms = 0
_last_random = 0


# Two characters per 10 bits: a ULID's 130 bits in 13 lookups (IDs are made on every refresh).
_PAIRS = tuple(a + b for a in _CROCKFORD for b in _CROCKFORD)
_PAIR_SHIFTS = tuple(range(120, -1, -10))


def _encode_ulid(value: int) -> str:
    return "".join([_PAIRS[(value >> shift) & 1023] for shift in _PAIR_SHIFTS])


def new_ulid() -> str:
    """A 26-character ULID, monotonic within this process so IDs sort in creation order."""
    global _last_ms, _last_random
    with _ULID_LOCK:
        now_ms = time.time_ns() // 1_000_000
        if now_ms <= _last_ms:
            now_ms = _last_ms
            random_part = (_last_random + 1) & ((1 << 80) - 1)
        else:
            random_part = int.from_bytes(os.urandom(10), "big")
        _last_ms, _last_random = now_ms, random_part
    return _encode_ulid((now_ms << 80) | random_part)


def new_id(prefix: str) -> str:
    """`new_id("user")` -> `user_01J...`."""
    return f"{prefix}_{new_ulid()}"


def is_ulid(value: str) -> bool:
    return len(value) == 26 and all(c in _CROCKFORD for c in value) and value[0] <= "7"


def has_id_shape(value: str, prefix: str) -> bool:
    """True when `value` looks like an ID with this prefix (`org_domain_...` for `org_domain`)."""
    head, _, tail = value.rpartition("_")
    return head == prefix and is_ulid(tail)


def random_token(num_bytes: int = 32) -> str:
    return secrets.token_urlsafe(num_bytes)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def constant_time_equal(a: str | bytes, b: str | bytes) -> bool:
    if isinstance(a, str):
        a = a.encode()
    if isinstance(b, str):
        b = b.encode()
    return hmac.compare_digest(a, b)


def new_api_key(live: bool) -> str:
    """An environment API key: `sk_test_...` or `sk_live_...`, shown once, stored hashed."""
    return ("sk_live_" if live else "sk_test_") + secrets.token_urlsafe(32)
