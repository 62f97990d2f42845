"""`/user_management/invitations` (CONTRACT.md §6.5)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from authkeep.api.state import app_state
from authkeep.api.wire import (
    ApiContext,
    api_key_required,
    json_response,
    list_response,
    page_request,
    parse_body,
    timestamp,
)
from authkeep.crypto.keys import SecretBox
from authkeep.errors import NotFound
from authkeep.services import invitation_acceptance, invitations
from authkeep.store.models import Invitation


def invitation_json(box: SecretBox, base_url: str, invitation: Invitation) -> dict[str, Any]:
    token = invitations.token_of(box, invitation)
    return {
        "object": "invitation",
        "id": invitation.id,
        "email": invitation.email,
        "state": invitations.wire_state(invitation),
        "accepted_at": timestamp(invitation.accepted_at),
        "revoked_at": timestamp(invitation.revoked_at),
        "expires_at": timestamp(invitation.expires_at),
        "organization_id": invitation.organization_id,
        "inviter_user_id": invitation.inviter_user_id,
        "accepted_user_id": invitation.accepted_user_id,
        "role_slug": invitation.role_slug,
        "token": token,
        "accept_invitation_url": invitations.accept_url(base_url, token),
        "created_at": timestamp(invitation.created_at),
        "updated_at": timestamp(invitation.updated_at),
    }


def _render(request: Request, invitation: Invitation, status: int = 200) -> Response:
    state = app_state(request)
    return json_response(invitation_json(state.box, state.settings.base_url, invitation), status)


@api_key_required
async def list_invitations(request: Request, ctx: ApiContext) -> Response:
    state = app_state(request)
    params = request.query_params
    page = await invitations.list_invitations(
        ctx.session,
        ctx.environment.id,
        page_request(request, "invitation"),
        email=params.get("email") or None,
        organization_id=params.get("organization_id") or None,
    )
    return list_response(page, lambda row: invitation_json(state.box, state.settings.base_url, row))


@api_key_required
async def send_invitation(request: Request, ctx: ApiContext) -> Response:
    from authkeep.api.bodies import SendInvitation

    body, _ = await parse_body(request, SendInvitation)
    state = app_state(request)
    invitation = await invitations.send_invitation(
        ctx.session,
        ctx.environment,
        state.box,
        state.settings.base_url,
        invitations.NewInvitation(**body.model_dump()),
    )
    return _render(request, invitation, 201)


@api_key_required
async def get_invitation(request: Request, ctx: ApiContext) -> Response:
    invitation = await invitations.get_invitation(
        ctx.session, ctx.environment.id, request.path_params["id"]
    )
    return _render(request, invitation)


@api_key_required
async def find_by_token(request: Request, ctx: ApiContext) -> Response:
    token = request.path_params["token"]
    invitation = await invitations.find_by_token(ctx.session, ctx.environment.id, token)
    if invitation is None:
        raise NotFound("Invitation not found for this token.")
    return _render(request, invitation)


@api_key_required
async def accept_invitation(request: Request, ctx: ApiContext) -> Response:
    from authkeep.api.bodies import NoFields

    await parse_body(request, NoFields)
    invitation = await invitation_acceptance.accept_by_id(
        ctx.session, ctx.environment, request.path_params["id"]
    )
    return _render(request, invitation)


@api_key_required
async def revoke_invitation(request: Request, ctx: ApiContext) -> Response:
    from authkeep.api.bodies import NoFields

    await parse_body(request, NoFields)
    invitation = await invitations.revoke_invitation(
        ctx.session, ctx.environment.id, request.path_params["id"]
    )
    return _render(request, invitation)


@api_key_required
async def resend_invitation(request: Request, ctx: ApiContext) -> Response:
    from authkeep.api.bodies import ResendInvitation

    body, _ = await parse_body(request, ResendInvitation)
    state = app_state(request)
    invitation = await invitations.resend_invitation(
        ctx.session,
        ctx.environment,
        state.box,
        state.settings.base_url,
        request.path_params["id"],
        locale=body.locale,
    )
    return _render(request, invitation)


BASE = "/user_management/invitations"
routes = [
    Route(BASE, list_invitations, methods=["GET"]),
    Route(BASE, send_invitation, methods=["POST"]),
    Route(BASE + "/by_token/{token}", find_by_token, methods=["GET"]),
    Route(BASE + "/{id}", get_invitation, methods=["GET"]),
    Route(BASE + "/{id}/accept", accept_invitation, methods=["POST"]),
    Route(BASE + "/{id}/revoke", revoke_invitation, methods=["POST"]),
    Route(BASE + "/{id}/resend", resend_invitation, methods=["POST"]),
]
