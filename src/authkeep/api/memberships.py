"""`/user_management/organization_memberships` (CONTRACT.md §6.4)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from authkeep.api.users import user_json
from authkeep.api.wire import (
    ApiContext,
    api_key_required,
    json_response,
    list_response,
    page_request,
    parse_body,
    query_list,
    timestamp,
)
from authkeep.errors import ValidationFailed
from authkeep.services import memberships
from authkeep.store.models import OrganizationMembership


def membership_json(membership: OrganizationMembership) -> dict[str, Any]:
    roles = [{"slug": role.slug} for role in membership.roles]
    return {
        "object": "organization_membership",
        "id": membership.id,
        "user_id": membership.user_id,
        "organization_id": membership.organization_id,
        "organization_name": membership.organization.name,
        "status": membership.status,
        "directory_managed": membership.directory_managed,
        "role": roles[0] if roles else {"slug": "member"},
        "roles": roles,
        "user": user_json(membership.user),
        "custom_attributes": membership.custom_attributes or {},
        "created_at": timestamp(membership.created_at),
        "updated_at": timestamp(membership.updated_at),
    }


@api_key_required
async def list_memberships(request: Request, ctx: ApiContext) -> Response:
    statuses = query_list(request, "statuses")
    bad = [s for s in statuses or [] if s not in memberships.STATUSES]
    if bad:
        raise ValidationFailed.field(
            "statuses", "invalid", f"Unknown status {bad[0]!r}: use active, inactive or pending."
        )
    params = request.query_params
    page = await memberships.list_memberships(
        ctx.session,
        ctx.environment.id,
        page_request(request, "om"),
        user_id=params.get("user_id") or None,
        organization_id=params.get("organization_id") or None,
        statuses=statuses,
    )
    return list_response(page, membership_json)


@api_key_required
async def create_membership(request: Request, ctx: ApiContext) -> Response:
    from authkeep.api.bodies import CreateMembership

    body, _ = await parse_body(request, CreateMembership)
    membership = await memberships.create_membership(
        ctx.session,
        ctx.environment,
        body.user_id,
        body.organization_id,
        body.role_slug,
        body.role_slugs,
    )
    return json_response(membership_json(membership), 201)


@api_key_required
async def get_membership(request: Request, ctx: ApiContext) -> Response:
    membership = await memberships.get_membership(
        ctx.session, ctx.environment.id, request.path_params["id"]
    )
    return json_response(membership_json(membership))


@api_key_required
async def update_membership(request: Request, ctx: ApiContext) -> Response:
    from authkeep.api.bodies import UpdateMembership

    body, _ = await parse_body(request, UpdateMembership)
    membership = await memberships.update_membership(
        ctx.session, ctx.environment, request.path_params["id"], body.role_slug, body.role_slugs
    )
    return json_response(membership_json(membership))


@api_key_required
async def delete_membership(request: Request, ctx: ApiContext) -> Response:
    await memberships.delete_membership(ctx.session, ctx.environment.id, request.path_params["id"])
    return Response(status_code=204)


async def _set_status(request: Request, ctx: ApiContext, status: str) -> Response:
    from authkeep.api.bodies import NoFields

    await parse_body(request, NoFields)
    membership = await memberships.set_status(
        ctx.session, ctx.environment.id, request.path_params["id"], status
    )
    return json_response(membership_json(membership))


@api_key_required
async def deactivate_membership(request: Request, ctx: ApiContext) -> Response:
    return await _set_status(request, ctx, "inactive")


@api_key_required
async def reactivate_membership(request: Request, ctx: ApiContext) -> Response:
    return await _set_status(request, ctx, "active")


BASE = "/user_management/organization_memberships"
routes = [
    Route(BASE, list_memberships, methods=["GET"]),
    Route(BASE, create_membership, methods=["POST"]),
    Route(BASE + "/{id}", get_membership, methods=["GET"]),
    Route(BASE + "/{id}", update_membership, methods=["PUT"]),
    Route(BASE + "/{id}", delete_membership, methods=["DELETE"]),
    Route(BASE + "/{id}/deactivate", deactivate_membership, methods=["PUT"]),
    Route(BASE + "/{id}/reactivate", reactivate_membership, methods=["PUT"]),
]
