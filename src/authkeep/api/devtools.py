"""authkeep's own endpoints under `/_authkeep/`, beside the WorkOS API: what a test suite or
`authkeep doctor` asks of the server. API-key protected; the `/_authkeep/dev/` ones exist only
for development environments and answer 404 for production ones.

* `POST /_authkeep/dev/sessions`: mint a session for a user (services/dev_sessions.py).
* `GET /_authkeep/environment`: the key's environment: kind, client ID, the token issuer.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from authkeep.api.state import app_state
from authkeep.api.users import user_json
from authkeep.api.wire import ApiContext, api_key_required, json_response, parse_body
from authkeep.errors import RouteNotFound, ValidationFailed
from authkeep.services import dev_sessions
from authkeep.services.environments import client_for
from authkeep.store.models import Environment


def require_development(request: Request, environment: Environment) -> None:
    if environment.kind != "development":
        raise RouteNotFound(
            f"{request.url.path} exists only for development environments; this API key "
            "belongs to a production environment."
        )


@api_key_required
async def mint_session(request: Request, ctx: ApiContext) -> Response:
    require_development(request, ctx.environment)
    from authkeep.api.bodies import MintSession

    body, _ = await parse_body(request, MintSession)
    if (body.user_id is None) == (body.email is None):
        raise ValidationFailed.field("user_id", "required", "Send user_id or email (one of them).")
    minted = await dev_sessions.mint_session(
        ctx.session,
        ctx.environment,
        app_state(request).issuer,
        dev_sessions.MintRequest(
            user=body.user_id or body.email or "",
            organization_id=body.organization_id,
            role=body.role_slug,
            ttl=body.access_token_ttl,
        ),
    )
    result: dict[str, Any] = {
        "object": "dev_session",
        "session_id": minted.session_id,
        "access_token": minted.access_token,
        "refresh_token": minted.refresh_token,
        "user": user_json(minted.user),
        "organization_id": minted.organization_id,
    }
    if body.cookie_password is not None:
        result["sealed_session"] = dev_sessions.sealed_session(minted, body.cookie_password)
    return json_response(result, 201)


@api_key_required
async def environment_info(request: Request, ctx: ApiContext) -> Response:
    environment = ctx.environment
    client = await client_for(ctx.session, environment.id)
    return json_response(
        {
            "object": "environment",
            "id": environment.id,
            "name": environment.name,
            "kind": environment.kind,
            "client_id": client.id,
            "issuer": app_state(request).issuer.issuer(environment, client.id),
            "access_token_ttl": environment.access_token_ttl,
        }
    )


routes = [
    Route("/_authkeep/dev/sessions", mint_session, methods=["POST"]),
    Route("/_authkeep/environment", environment_info, methods=["GET"]),
]
