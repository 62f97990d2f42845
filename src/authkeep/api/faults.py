"""Fault injection for development environments (services/faults.py): the endpoints that set and
clear faults, and the middleware that answers for them.

    POST   /_authkeep/dev/faults  {method, path, status, body?, headers?, count?}
    GET    /_authkeep/dev/faults  the environment's pending faults
    DELETE /_authkeep/dev/faults  clear them

The middleware sits inside the request-ID and CORS layers, so an injected answer carries
`X-Request-ID` (the SDKs copy it into their errors) and, for browsers, the CORS headers.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authkeep.api.devtools import require_development
from authkeep.api.state import AppState, app_state
from authkeep.api.wire import ApiContext, api_key_required, json_response, parse_body
from authkeep.services.environments import client_for, environment_id_for_api_key
from authkeep.services.faults import Fault, FaultTable


@api_key_required
async def add_fault(request: Request, ctx: ApiContext) -> Response:
    require_development(request, ctx.environment)
    from authkeep.api.bodies import AddFault

    body, _ = await parse_body(request, AddFault)
    fault = app_state(request).faults.add(
        ctx.environment.id,
        frozenset({(await client_for(ctx.session, ctx.environment.id)).id}),
        method=body.method,
        path=body.path,
        status=body.status,
        body=body.body,
        headers=body.headers,
        count=body.count,
    )
    return json_response(fault.describe(), 201)


@api_key_required
async def list_faults(request: Request, ctx: ApiContext) -> Response:
    require_development(request, ctx.environment)
    faults = app_state(request).faults.listing(ctx.environment.id)
    return json_response({"object": "list", "data": [f.describe() for f in faults]})


@api_key_required
async def clear_faults(request: Request, ctx: ApiContext) -> Response:
    require_development(request, ctx.environment)
    app_state(request).faults.clear(ctx.environment.id)
    return Response(status_code=204)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return (token.strip() or None) if scheme.lower() == "bearer" else None
    return None


def _client_id_in(scope: Scope, body: bytes) -> str | None:
    """A public client names itself in the query, the path (the JWKS) or the body."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    if query.get("client_id"):
        return query["client_id"][0]
    for segment in scope["path"].split("/"):
        if segment.startswith("client_"):
            return segment
    if body:
        try:
            fields = json.loads(body)
        except ValueError:
            fields = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        value = fields.get("client_id") if isinstance(fields, dict) else None
        return value if isinstance(value, str) else None
    return None


class FaultInjection:
    """Answer for a pending fault of the request's route and environment; else pass through."""

    def __init__(self, app: ASGIApp, state: AppState) -> None:
        self.app = app
        self.state = state
        self.faults: FaultTable = state.faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.faults.routes or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if (scope["method"], scope["path"]) not in self.faults.routes:
            await self.app(scope, receive, send)
            return
        body, receive = await self._buffer(receive)
        environment_id = None
        token = _bearer(scope)
        if token is not None:
            async with self.state.read_sessions() as session:
                environment_id = await environment_id_for_api_key(session, token)
        fault = self.faults.take(
            scope["method"], scope["path"], environment_id, _client_id_in(scope, body)
        )
        if fault is None:
            await self.app(scope, receive, send)
            return
        await self._answer(fault, send)

    async def _buffer(self, receive: Receive) -> tuple[bytes, Receive]:
        chunks: list[bytes] = []
        size, limit = 0, self.state.settings.max_body_bytes
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if not message.get("more_body") or size > limit:
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return body, replay

    @staticmethod
    async def _answer(fault: Fault, send: Send) -> None:
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(fault.body)).encode()),
            *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in fault.headers.items()),
        ]
        await send({"type": "http.response.start", "status": fault.status, "headers": headers})
        await send({"type": "http.response.body", "body": fault.body})


routes = [
    Route("/_authkeep/dev/faults", add_fault, methods=["POST"]),
    Route("/_authkeep/dev/faults", list_faults, methods=["GET"]),
    Route("/_authkeep/dev/faults", clear_faults, methods=["DELETE"]),
]
