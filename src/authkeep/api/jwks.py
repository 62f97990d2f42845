"""`GET /sso/jwks/{client_id}` (CONTRACT.md §4.5): public and cacheable.

Verifiers fetch it often, so each worker keeps the serialized response for `jwks_cache_seconds`
and `JwksFastPath` answers from it before the rest of the stack runs. A rotated key is published
`key_publish_delay` seconds before it signs, far longer than this cache.
"""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from authkeep.api.middleware import request_id_of
from authkeep.api.state import AppState, app_state
from authkeep.api.wire import JSON_TYPE, dumps
from authkeep.errors import NotFound
from authkeep.services import signing_keys
from authkeep.services.environments import environment_for_client

PREFIX = "/sso/jwks/"


def _headers(state: AppState, body: bytes) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-type", JSON_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", f"public, max-age={state.settings.jwks_max_age}".encode()),
        # Public keys carry no credentials: any page may fetch them (CONTRACT.md §8.6).
        (b"access-control-allow-origin", b"*"),
    ]


async def get_jwks(request: Request) -> Response:
    state = app_state(request)
    client_id = request.path_params["client_id"]
    cached = state.jwks_cache.get(client_id)
    if cached is None or cached[0] < time.monotonic():
        async with state.read_sessions() as session:
            environment = await environment_for_client(session, client_id)
            if environment is None:
                raise NotFound.entity("Client", client_id)
            body = dumps(await signing_keys.jwks(session, environment.id))
        cached = (time.monotonic() + state.settings.jwks_cache_seconds, body)
        state.jwks_cache[client_id] = cached
    response = Response(cached[1])
    response.raw_headers = _headers(state, cached[1])
    return response


class JwksFastPath:
    """Serve a cached JWKS straight from ASGI; misses go through the app, which fills the cache."""

    def __init__(self, app: ASGIApp, state: AppState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # An injected fault (development) must not be skipped by a cache hit.
        if scope["type"] == "http" and scope["method"] == "GET" and not self.state.faults.routes:
            path: str = scope["path"]
            if path.startswith(PREFIX):
                cached = self.state.jwks_cache.get(path[len(PREFIX) :])
                if cached is not None and cached[0] >= time.monotonic():
                    headers = _headers(self.state, cached[1])
                    headers.append((b"x-request-id", request_id_of(scope).encode()))
                    await send({"type": "http.response.start", "status": 200, "headers": headers})
                    await send({"type": "http.response.body", "body": cached[1]})
                    return
        await self.app(scope, receive, send)


routes = [Route("/sso/jwks/{client_id}", get_jwks, methods=["GET"])]
