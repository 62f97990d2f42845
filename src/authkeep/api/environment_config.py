"""Environment configuration for provisioning tools (CONTRACT.md §6.17): redirect URIs and CORS
origins."""

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
from authkeep.crypto.secrets import has_id_shape
from authkeep.errors import NotFound
from authkeep.services import environments
from authkeep.store.models import CorsOrigin, RedirectUri


def redirect_uri_json(row: RedirectUri) -> dict[str, Any]:
    return {
        "object": "redirect_uri",
        "id": row.id,
        "uri": row.uri,
        "default": row.is_default,
        "created_at": timestamp(row.created_at),
        "updated_at": timestamp(row.updated_at),
    }


def cors_origin_json(row: CorsOrigin) -> dict[str, Any]:
    return {
        "object": "cors_origin",
        "id": row.id,
        "origin": row.origin,
        "created_at": timestamp(row.created_at),
        "updated_at": timestamp(row.updated_at),
    }


@api_key_required
async def list_redirect_uris(request: Request, ctx: ApiContext) -> Response:
    page = await environments.page_redirect_uris(
        ctx.session, ctx.environment.id, page_request(request, "redir")
    )
    return list_response(page, redirect_uri_json)


@api_key_required
async def create_redirect_uri(request: Request, ctx: ApiContext) -> Response:
    from authkeep.api.bodies import CreateRedirectUri

    body, _ = await parse_body(request, CreateRedirectUri)
    row = await environments.add_redirect_uri(ctx.session, ctx.environment.id, body.uri)
    return json_response(redirect_uri_json(row), 201)


@api_key_required
async def delete_redirect_uri(request: Request, ctx: ApiContext) -> Response:
    redirect_id = request.path_params["id"]
    if not has_id_shape(redirect_id, "redir"):
        raise NotFound.entity("Redirect URI", redirect_id)
    await environments.remove_redirect_uri(ctx.session, ctx.environment.id, redirect_id)
    return Response(status_code=204)


@api_key_required
async def list_cors_origins(request: Request, ctx: ApiContext) -> Response:
    page = await environments.page_cors_origins(
        ctx.session, ctx.environment.id, page_request(request, "cors_origin")
    )
    return list_response(page, cors_origin_json)


@api_key_required
async def create_cors_origin(request: Request, ctx: ApiContext) -> Response:
    from authkeep.api.bodies import CreateCorsOrigin

    body, _ = await parse_body(request, CreateCorsOrigin)
    row = await environments.add_cors_origin(
        ctx.session, ctx.environment.id, body.origin, conflict_if_exists=True
    )
    return json_response(cors_origin_json(row), 201)


routes = [
    Route("/user_management/redirect_uris", list_redirect_uris, methods=["GET"]),
    Route("/user_management/redirect_uris", create_redirect_uri, methods=["POST"]),
    Route("/user_management/redirect_uris/{id}", delete_redirect_uri, methods=["DELETE"]),
    Route("/user_management/cors_origins", list_cors_origins, methods=["GET"]),
    Route("/user_management/cors_origins", create_cors_origin, methods=["POST"]),
]
