"""`/authorization/roles` and organization roles, read side (CONTRACT.md §6.9)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from authkeep.api.wire import ApiContext, api_key_required, json_response, timestamp
from authkeep.services import roles
from authkeep.services.organizations import get_organization
from authkeep.store.models import Role


def role_json(role: Role) -> dict[str, Any]:
    return {
        "object": "role",
        "id": role.id,
        "slug": role.slug,
        "name": role.name,
        "description": role.description,
        "type": "OrganizationRole" if role.organization_id else "EnvironmentRole",
        "resource_type_slug": "organization",
        "permissions": [p.slug for p in role.permissions],
        "created_at": timestamp(role.created_at),
        "updated_at": timestamp(role.updated_at),
    }


@api_key_required
async def list_environment_roles(request: Request, ctx: ApiContext) -> Response:
    rows = await roles.list_environment_roles(ctx.session, ctx.environment.id)
    return json_response({"object": "list", "data": [role_json(r) for r in rows]})


@api_key_required
async def list_organization_roles(request: Request, ctx: ApiContext) -> Response:
    organization = await get_organization(
        ctx.session, ctx.environment.id, request.path_params["organization_id"]
    )
    rows = await roles.list_organization_roles(ctx.session, ctx.environment.id, organization.id)
    return json_response({"object": "list", "data": [role_json(r) for r in rows]})


routes = [
    Route("/authorization/roles", list_environment_roles, methods=["GET"]),
    Route(
        "/authorization/organizations/{organization_id}/roles",
        list_organization_roles,
        methods=["GET"],
    ),
]
