"""Injected faults for development environments: "the next N calls of METHOD PATH answer STATUS
with BODY", so an app's error handling and the SDKs' retries can be tried against a real server.

Faults live in the memory of the process (`authkeep dev` runs one) and belong to an environment:
they hit only requests that carry one of its API keys or name one of its client IDs. The table
is keyed by (method, path) and empty when no fault is set, so requests pay one dict check.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from authkeep.errors import ValidationFailed

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
MAX_COUNT = 1000
RESERVED_PREFIX = "/_authkeep/"
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}")
_HEADER_VALUE = re.compile(r"[\x20-\x7e]{0,1024}")
DEFAULT_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "entity_not_found",
    408: "request_timeout",
    409: "conflict",
    422: "invalid_request_parameters",
    429: "rate_limit_exceeded",
    500: "server_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


@dataclass
class Fault:
    environment_id: str
    client_ids: frozenset[str]
    method: str
    path: str
    status: int
    body: bytes
    headers: dict[str, str]
    remaining: int

    def describe(self) -> dict[str, Any]:
        return {
            "object": "fault",
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "remaining": self.remaining,
        }


def default_body(status: int) -> dict[str, Any]:
    return {
        "code": DEFAULT_CODES.get(status, "injected_fault"),
        "message": f"Injected fault: HTTP {status} (POST /_authkeep/dev/faults).",
    }


@dataclass
class FaultTable:
    routes: dict[tuple[str, str], list[Fault]] = field(default_factory=dict)

    def add(
        self,
        environment_id: str,
        client_ids: frozenset[str],
        *,
        method: str,
        path: str,
        status: int,
        body: Any = None,
        headers: dict[str, str] | None = None,
        count: int = 1,
    ) -> Fault:
        method = method.upper()
        problems = []
        if method not in METHODS:
            problems.append(("method", f"method is one of {', '.join(METHODS)}."))
        if not path.startswith("/") or "?" in path or path.startswith(RESERVED_PREFIX):
            problems.append(
                ("path", "path is an absolute API path without a query, outside /_authkeep/.")
            )
        if not 400 <= status <= 599:
            problems.append(("status", "status is an error status, 400 to 599."))
        if not 1 <= count <= MAX_COUNT:
            problems.append(("count", f"count is 1 to {MAX_COUNT}."))
        for name, value in (headers or {}).items():
            if not _HEADER_NAME.fullmatch(name) or not _HEADER_VALUE.fullmatch(value):
                problems.append(("headers", f"header {name!r} is not a valid HTTP header."))
        if problems:
            raise ValidationFailed(
                [{"field": f, "code": "invalid", "message": m} for f, m in problems],
                " ".join(m for _, m in problems),
            )
        shown_headers = dict(headers or {})
        if status in (429, 503) and not any(k.lower() == "retry-after" for k in shown_headers):
            shown_headers["Retry-After"] = "1"
        payload = json.dumps(default_body(status) if body is None else body).encode()
        fault = Fault(
            environment_id, client_ids, method, path, status, payload, shown_headers, count
        )
        self.routes.setdefault((method, path), []).append(fault)
        return fault

    def take(
        self, method: str, path: str, environment_id: str | None, client_id: str | None
    ) -> Fault | None:
        """The first fault of this route for this environment, counted as used."""
        faults = self.routes.get((method, path))
        if not faults:
            return None
        for fault in faults:
            if fault.environment_id == environment_id or (
                client_id is not None and client_id in fault.client_ids
            ):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    faults.remove(fault)
                    if not faults:
                        del self.routes[(method, path)]
                return fault
        return None

    def listing(self, environment_id: str) -> list[Fault]:
        return [
            fault
            for faults in self.routes.values()
            for fault in faults
            if fault.environment_id == environment_id
        ]

    def clear(self, environment_id: str) -> int:
        removed = 0
        for key in list(self.routes):
            kept = [f for f in self.routes[key] if f.environment_id != environment_id]
            removed += len(self.routes[key]) - len(kept)
            if kept:
                self.routes[key] = kept
            else:
                del self.routes[key]
        return removed
