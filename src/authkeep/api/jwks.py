"""`GET /sso/jwks/{client_id}` (CONTRACT.md §4.5): public and cacheable.

Verifiers fetch it often, so each worker keeps the serialized body for `jwks_cache_seconds`. A
rotated key is published `key_publish_delay` seconds before it signs, far longer than this cache.
"""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from authkeep.api.state import app_state
from authkeep.api.wire import JSON_TYPE, dumps
from authkeep.errors import NotFound
from authkeep.services import signing_keys
from authkeep.services.environments import environment_for_client


async def get_jwks(request: Request) -> Response:
    state = app_state(request)
    client_id = request.path_params["client_id"]
    now = time.monotonic()
    cached = state.jwks_cache.get(client_id)
    if cached is None or cached[0] < now:
        async with state.sessions() as session:
            environment = await environment_for_client(session, client_id)
            if environment is None:
                raise NotFound.entity("Client", client_id)
            body = dumps(await signing_keys.jwks(session, environment.id))
        cached = (now + state.settings.jwks_cache_seconds, body)
        state.jwks_cache[client_id] = cached
    return Response(
        cached[1],
        media_type=JSON_TYPE,
        headers={"Cache-Control": f"public, max-age={state.settings.jwks_max_age}"},
    )


routes = [Route("/sso/jwks/{client_id}", get_jwks, methods=["GET"])]
