"""`/user_management/users` (CONTRACT.md §6.1)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from authkeep.api.wire import (
    ApiContext,
    api_key_required,
    json_response,
    list_response,
    page_request,
    parse_body,
    timestamp,
)
from authkeep.services import users
from authkeep.store.models import User
from authkeep.store.rotation import UserRow

Metadata = dict[str, str]
MetadataPatch = dict[str, str | None]


def user_json(user: User | UserRow) -> dict[str, Any]:
    return {
        "object": "user",
        "id": user.id,
        "email": user.email,
        "email_verified": user.email_verified,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "name": user.name,
        "profile_picture_url": user.profile_picture_url,
        "external_id": user.external_id,
        "metadata": user.metadata_ or {},
        "locale": user.locale,
        "last_sign_in_at": timestamp(user.last_sign_in_at),
        "created_at": timestamp(user.created_at),
        "updated_at": timestamp(user.updated_at),
    }


@api_key_required
async def list_users(request: Request, ctx: ApiContext) -> Response:
    params = request.query_params
    page = await users.list_users(
        ctx.session,
        ctx.environment.id,
        page_request(request, "user"),
        email=params.get("email") or None,
        organization_id=params.get("organization_id") or params.get("organization") or None,
    )
    return list_response(page, user_json)


@api_key_required
async def create_user(request: Request, ctx: ApiContext) -> Response:
    from authkeep.api.bodies import CreateUser

    _, fields = await parse_body(request, CreateUser)
    user = await users.create_user(ctx.session, ctx.environment.id, fields)
    return json_response(user_json(user), 201)


@api_key_required
async def get_user(request: Request, ctx: ApiContext) -> Response:
    user = await users.get_user(ctx.session, ctx.environment.id, request.path_params["id"])
    return json_response(user_json(user))


@api_key_required
async def get_user_by_external_id(request: Request, ctx: ApiContext) -> Response:
    user = await users.get_user_by_external_id(
        ctx.session, ctx.environment.id, request.path_params["external_id"]
    )
    return json_response(user_json(user))


@api_key_required
async def update_user(request: Request, ctx: ApiContext) -> Response:
    from authkeep.api.bodies import UpdateUser

    _, fields = await parse_body(request, UpdateUser)
    user = await users.update_user(
        ctx.session, ctx.environment.id, request.path_params["id"], fields
    )
    return json_response(user_json(user))


@api_key_required
async def delete_user(request: Request, ctx: ApiContext) -> Response:
    await users.delete_user(ctx.session, ctx.environment.id, request.path_params["id"])
    return Response(status_code=204)


routes = [
    Route("/user_management/users", list_users, methods=["GET"]),
    Route("/user_management/users", create_user, methods=["POST"]),
    Route(
        "/user_management/users/external_id/{external_id}", get_user_by_external_id, methods=["GET"]
    ),
    Route("/user_management/users/{id}", get_user, methods=["GET"]),
    Route("/user_management/users/{id}", update_user, methods=["PUT"]),
    Route("/user_management/users/{id}", delete_user, methods=["DELETE"]),
]
