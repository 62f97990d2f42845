"""`/user_management/password_reset` (CONTRACT.md §6.7): create (mails the link), get, confirm."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from authkeep.api.state import app_state
from authkeep.api.users import user_json
from authkeep.api.wire import (
    ApiContext,
    api_key_required,
    json_response,
    parse_body,
    timestamp,
)
from authkeep.errors import NotFound
from authkeep.services import password_reset
from authkeep.services.rate_limits import SlidingWindowLimiter

# Failed confirms per environment and client address in 15 minutes: tokens cannot be guessed,
# but a client that keeps presenting wrong ones is stopped all the same.
CONFIRM_FAILURES, CONFIRM_WINDOW = 30, 900


def reset_json(issued: password_reset.IssuedReset) -> dict[str, Any]:
    reset = issued.reset
    return {
        "object": "password_reset",
        "id": reset.id,
        "user_id": reset.user_id,
        "email": reset.email,
        "password_reset_token": issued.token,
        "password_reset_url": issued.url,
        "expires_at": timestamp(reset.expires_at),
        "created_at": timestamp(reset.created_at),
    }


def confirm_limiter(request: Request) -> SlidingWindowLimiter:
    extras = app_state(request).extras
    limiter = extras.get("password_reset_confirms")
    if limiter is None:
        limiter = extras["password_reset_confirms"] = SlidingWindowLimiter(
            CONFIRM_FAILURES, CONFIRM_WINDOW
        )
    assert isinstance(limiter, SlidingWindowLimiter)
    return limiter


def limiter_key(request: Request, environment_id: str) -> str:
    return f"{environment_id}:{request.client.host if request.client else ''}"


@api_key_required
async def create_reset(request: Request, ctx: ApiContext) -> Response:
    from authkeep.api.bodies import CreatePasswordReset

    body, _ = await parse_body(request, CreatePasswordReset)
    state = app_state(request)
    issued = await password_reset.create_for_email(
        ctx.session, state.box, ctx.environment, state.settings.base_url, body.email
    )
    return json_response(reset_json(issued), 201)


@api_key_required
async def get_reset(request: Request, ctx: ApiContext) -> Response:
    state = app_state(request)
    issued = await password_reset.get_password_reset(
        ctx.session,
        state.box,
        ctx.environment,
        state.settings.base_url,
        request.path_params["id"],
    )
    return json_response(reset_json(issued))


@api_key_required
async def confirm_reset(request: Request, ctx: ApiContext) -> Response:
    from authkeep.api.bodies import ConfirmPasswordReset

    body, _ = await parse_body(request, ConfirmPasswordReset)
    limiter, key = confirm_limiter(request), limiter_key(request, ctx.environment.id)
    limiter.check(key)
    try:
        user = await password_reset.confirm_password_reset(
            ctx.session, ctx.environment, body.token, body.new_password
        )
    except NotFound:
        limiter.hit(key)
        raise
    return json_response({"user": user_json(user)})


routes = [
    Route("/user_management/password_reset", create_reset, methods=["POST"]),
    Route("/user_management/password_reset/confirm", confirm_reset, methods=["POST"]),
    Route("/user_management/password_reset/{id}", get_reset, methods=["GET"]),
]
