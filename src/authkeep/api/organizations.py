"""`/organizations` and `/organization_domains` (CONTRACT.md §6.2, §6.3)."""

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
    query_list,
    timestamp,
)
from authkeep.services import organizations
from authkeep.store.models import Organization, OrganizationDomain


def domain_json(domain: OrganizationDomain) -> dict[str, Any]:
    return {
        "object": "organization_domain",
        "id": domain.id,
        "organization_id": domain.organization_id,
        "domain": domain.domain,
        "state": domain.state,
        "verification_strategy": domain.verification_strategy,
        "verification_token": domain.verification_token,
        "verification_prefix": domain.verification_prefix,
        "created_at": timestamp(domain.created_at),
        "updated_at": timestamp(domain.updated_at),
    }


def organization_json(organization: Organization) -> dict[str, Any]:
    body = {
        "object": "organization",
        "id": organization.id,
        "name": organization.name,
        "domains": [domain_json(d) for d in organization.domains],
        "metadata": organization.metadata_ or {},
        "external_id": organization.external_id,
        "allow_profiles_outside_organization": organization.allow_profiles_outside_organization,
        "created_at": timestamp(organization.created_at),
        "updated_at": timestamp(organization.updated_at),
    }
    if organization.stripe_customer_id is not None:
        body["stripe_customer_id"] = organization.stripe_customer_id
    return body


def _plain(fields: dict[str, Any]) -> dict[str, Any]:
    if fields.get("domain_data") is not None:
        fields["domain_data"] = [d.model_dump() for d in fields["domain_data"]]
    return fields


@api_key_required
async def list_organizations(request: Request, ctx: ApiContext) -> Response:
    page = await organizations.list_organizations(
        ctx.session,
        ctx.environment.id,
        page_request(request, "org"),
        domains=query_list(request, "domains"),
        search=request.query_params.get("search") or None,
    )
    return list_response(page, organization_json)


@api_key_required
async def create_organization(request: Request, ctx: ApiContext) -> Response:
    from authkeep.api.bodies import CreateOrganization

    _, fields = await parse_body(request, CreateOrganization)
    organization = await organizations.create_organization(
        ctx.session, ctx.environment.id, _plain(fields)
    )
    return json_response(organization_json(organization), 201)


@api_key_required
async def get_organization(request: Request, ctx: ApiContext) -> Response:
    organization = await organizations.get_organization(
        ctx.session, ctx.environment.id, request.path_params["id"]
    )
    return json_response(organization_json(organization))


@api_key_required
async def get_organization_by_external_id(request: Request, ctx: ApiContext) -> Response:
    organization = await organizations.get_organization_by_external_id(
        ctx.session, ctx.environment.id, request.path_params["external_id"]
    )
    return json_response(organization_json(organization))


@api_key_required
async def update_organization(request: Request, ctx: ApiContext) -> Response:
    from authkeep.api.bodies import UpdateOrganization

    _, fields = await parse_body(request, UpdateOrganization)
    organization = await organizations.update_organization(
        ctx.session, ctx.environment.id, request.path_params["id"], _plain(fields)
    )
    return json_response(organization_json(organization))


@api_key_required
async def delete_organization(request: Request, ctx: ApiContext) -> Response:
    await organizations.delete_organization(
        ctx.session, ctx.environment.id, request.path_params["id"]
    )
    return Response(status_code=204)


@api_key_required
async def create_domain(request: Request, ctx: ApiContext) -> Response:
    from authkeep.api.bodies import CreateDomain

    body, _ = await parse_body(request, CreateDomain)
    domain = await organizations.create_domain(
        ctx.session, ctx.environment.id, body.organization_id, body.domain
    )
    return json_response(domain_json(domain), 201)


@api_key_required
async def get_domain(request: Request, ctx: ApiContext) -> Response:
    domain = await organizations.get_domain(
        ctx.session, ctx.environment.id, request.path_params["id"]
    )
    return json_response(domain_json(domain))


@api_key_required
async def delete_domain(request: Request, ctx: ApiContext) -> Response:
    await organizations.delete_domain(ctx.session, ctx.environment.id, request.path_params["id"])
    return Response(status_code=204)


routes = [
    Route("/organizations", list_organizations, methods=["GET"]),
    Route("/organizations", create_organization, methods=["POST"]),
    Route(
        "/organizations/external_id/{external_id}", get_organization_by_external_id, methods=["GET"]
    ),
    Route("/organizations/{id}", get_organization, methods=["GET"]),
    Route("/organizations/{id}", update_organization, methods=["PUT"]),
    Route("/organizations/{id}", delete_organization, methods=["DELETE"]),
    Route("/organization_domains", create_domain, methods=["POST"]),
    Route("/organization_domains/{id}", get_domain, methods=["GET"]),
    Route("/organization_domains/{id}", delete_domain, methods=["DELETE"]),
]
