"""Every JSON body the live servers send during the suite is checked against WorkOS's OpenAPI
schema for its operation and status. Deliberate deviations are listed here, each with its reason.
At the end of a full run, every implemented operation must have been exercised."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scripts import openapi_spec

# (METHOD, spec path, status) -> why authkeep's body differs from the spec's schema.
DEVIATIONS: dict[tuple[str, str, int], str] = {}
# authkeep's own endpoints (dev sessions, faults, environment info) are not WorkOS operations.
OWN_PREFIX = "/_authkeep/"


@dataclass
class Exchange:
    method: str
    path: str
    status: int
    body: Any
    test: str


@dataclass
class ConformanceRecorder:
    exchanges: list[Exchange] = field(default_factory=list)
    current_test: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)
    _shared: ClassVar[ConformanceRecorder | None] = None

    @classmethod
    def shared(cls) -> ConformanceRecorder:
        if cls._shared is None:
            cls._shared = cls()
        return cls._shared

    def wrap(self, app: ASGIApp) -> ASGIApp:
        recorder = self

        async def recorded(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            status, chunks, content_type = 0, [], b""

            async def capture(message: Message) -> None:
                nonlocal status, content_type
                if message["type"] == "http.response.start":
                    status = message["status"]
                    content_type = dict(message.get("headers", [])).get(b"content-type", b"")
                elif message["type"] == "http.response.body":
                    chunks.append(message.get("body", b""))
                await send(message)

            await app(scope, receive, capture)
            raw = b"".join(chunks)
            body = json.loads(raw) if raw and content_type.startswith(b"application/json") else None
            with recorder.lock:
                recorder.exchanges.append(
                    Exchange(scope["method"], scope["path"], status, body, recorder.current_test)
                )

        return recorded

    def problems_since(self, start: int) -> list[str]:
        if not openapi_spec.spec_available():
            return []
        problems = []
        for exchange in self.exchanges[start:]:
            if exchange.path.startswith(OWN_PREFIX):
                continue
            operation = openapi_spec.match(exchange.method, exchange.path)
            if operation is None or exchange.body is None:
                continue
            if (operation.method, operation.path, exchange.status) in DEVIATIONS:
                continue
            pointer = openapi_spec.response_schema_pointer(operation, exchange.status)
            if pointer is None:
                continue
            for error in openapi_spec.validate(pointer, exchange.body):
                problems.append(f"{exchange.method} {exchange.path} -> {exchange.status}: {error}")
        return problems

    def exercised(self) -> set[tuple[str, str]]:
        seen = set()
        for exchange in self.exchanges:
            operation = openapi_spec.match(exchange.method, exchange.path)
            if operation is not None and 200 <= exchange.status < 400:
                seen.add((operation.method, operation.path))
        return seen

    def report(self, session: pytest.Session) -> None:
        """After a full run: fail when an implemented operation was never called successfully."""
        if not openapi_spec.spec_available():
            print(f"\nnote: {openapi_spec.SPEC_PATH} is absent; responses were not schema-checked.")
            return
        if session.testsfailed or not self.exchanges:
            return
        selected = session.config.option.keyword or session.config.option.markexpr
        if selected or session.config.args not in (
            [],
            ["tests"],
            [str(session.config.rootpath / "tests")],
        ):
            return
        from scripts.compatibility import implemented_operations

        missing = sorted(implemented_operations() - self.exercised())
        if missing:
            lines = "\n  ".join(f"{m} {p}" for m, p in missing)
            print(f"\nImplemented operations that no test called successfully:\n  {lines}")
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
