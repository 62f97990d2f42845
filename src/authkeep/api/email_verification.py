"""E-mail verification endpoints (CONTRACT.md §6.1): send a code, confirm it, read it."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from authkeep.api.state import app_state
from authkeep.api.users import user_json
from authkeep.api.wire import ApiContext, api_key_required, json_response, parse_body
from authkeep.api.wire import timestamp as ts
from authkeep.services import email_verification, one_time_codes


@api_key_required
async def send_verification(request: Request, ctx: ApiContext) -> Response:
    from authkeep.api.bodies import SendVerification

    await parse_body(request, SendVerification)
    user = await email_verification.send(
        ctx.session, app_state(request).box, ctx.environment, request.path_params["id"]
    )
    return json_response({"user": user_json(user)})


@api_key_required
async def confirm_verification(request: Request, ctx: ApiContext) -> Response:
    from authkeep.api.bodies import ConfirmVerification

    body, _ = await parse_body(request, ConfirmVerification)
    user = await email_verification.confirm(
        ctx.session, ctx.environment, request.path_params["id"], body.code
    )
    return json_response({"user": user_json(user)})


@api_key_required
async def get_verification(request: Request, ctx: ApiContext) -> Response:
    row = await email_verification.get_verification(
        ctx.session, ctx.environment.id, request.path_params["id"]
    )
    body: dict[str, Any] = {
        "object": "email_verification",
        "id": row.id,
        "user_id": row.user_id,
        "email": row.email,
        "expires_at": ts(row.expires_at),
        "code": one_time_codes.reveal(app_state(request).box, row),
        "created_at": ts(row.created_at),
        "updated_at": ts(row.updated_at),
    }
    return json_response(body)


routes = [
    Route(
        "/user_management/users/{id}/email_verification/send", send_verification, methods=["POST"]
    ),
    Route(
        "/user_management/users/{id}/email_verification/confirm",
        confirm_verification,
        methods=["POST"],
    ),
    Route("/user_management/email_verification/{id}", get_verification, methods=["GET"]),
]
