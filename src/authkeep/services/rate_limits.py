"""Password-attempt limits per account and per client IP (OWASP ASVS 2.2.1).

Counts live in each worker's memory: with N workers an attacker gets at most N times the
budget. A shared store (Redis) can replace this class without changing its callers.
"""

from __future__ import annotations

import math
import time
from collections import deque

from authkeep.errors import RateLimited


class SlidingWindowLimiter:
    def __init__(self, limit: int, window_seconds: float, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window_seconds
        self.max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self.max_keys:
                self._evict(now)
            hits = self._hits[key] = deque()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        return hits

    def _evict(self, now: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
            del self._hits[key]
        while len(self._hits) >= self.max_keys:
            self._hits.pop(next(iter(self._hits)))

    def check(self, key: str) -> None:
        """Raise `RateLimited` when `key` used its budget in the window."""
        now = time.monotonic()
        hits = self._recent(key, now)
        if len(hits) >= self.limit:
            retry_after = max(1, math.ceil(hits[0] + self.window - now))
            raise RateLimited(retry_after, "Too many sign-in attempts. Try again later.")

    def hit(self, key: str) -> None:
        now = time.monotonic()
        self._recent(key, now).append(now)

    def reset(self, key: str) -> None:
        self._hits.pop(key, None)


class PasswordAttemptLimits:
    """10 failures per account and 50 per IP in 15 minutes, by default."""

    def __init__(self, per_account: int = 10, per_ip: int = 50, window: float = 900) -> None:
        self.accounts = SlidingWindowLimiter(per_account, window)
        self.addresses = SlidingWindowLimiter(per_ip, window)

    def check(self, environment_id: str, email: str, ip_address: str | None) -> None:
        self.accounts.check(f"{environment_id}:{email.strip().lower()}")
        if ip_address:
            self.addresses.check(ip_address)

    def failed(self, environment_id: str, email: str, ip_address: str | None) -> None:
        self.accounts.hit(f"{environment_id}:{email.strip().lower()}")
        if ip_address:
            self.addresses.hit(ip_address)

    def succeeded(self, environment_id: str, email: str) -> None:
        self.accounts.reset(f"{environment_id}:{email.strip().lower()}")
