"""`/user_management/magic_auth` (CONTRACT.md §6.6): create a code (and send its mail), read it.

With `invitation_token`, an invited address may get a code in an invite-only environment; the
invitation is accepted when its token comes with the grant that redeems the code.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from authkeep.api.state import app_state
from authkeep.api.wire import ApiContext, api_key_required, json_response, parse_body
from authkeep.api.wire import timestamp as ts
from authkeep.services import magic_auth, one_time_codes
from authkeep.store.models import MagicAuthCode


def magic_auth_json(row: MagicAuthCode, code: str) -> dict[str, Any]:
    return {
        "object": "magic_auth",
        "id": row.id,
        "user_id": row.user_id,
        "email": row.email,
        "expires_at": ts(row.expires_at),
        "created_at": ts(row.created_at),
        "updated_at": ts(row.updated_at),
        "code": code,
    }


@api_key_required
async def create_magic_auth(request: Request, ctx: ApiContext) -> Response:
    from authkeep.api.bodies import CreateMagicAuth

    body, _ = await parse_body(request, CreateMagicAuth)
    row, code = await magic_auth.create_magic_auth(
        ctx.session,
        app_state(request).box,
        ctx.environment,
        body.email,
        ip_address=body.ip_address,
        user_agent=body.user_agent,
        invitation_token=body.invitation_token,
    )
    return json_response(magic_auth_json(row, code), 201)


@api_key_required
async def get_magic_auth(request: Request, ctx: ApiContext) -> Response:
    row = await magic_auth.get_magic_auth(
        ctx.session, ctx.environment.id, request.path_params["id"]
    )
    code = one_time_codes.reveal(app_state(request).box, row)
    return json_response(magic_auth_json(row, code))


routes = [
    Route("/user_management/magic_auth", create_magic_auth, methods=["POST"]),
    Route("/user_management/magic_auth/{id}", get_magic_auth, methods=["GET"]),
]
