"""Invitations on the hosted pages (CONTRACT.md §6.5 acceptance paths).

`GET /authkit/invitation?invitation_token=...` is the link in the invitation mail. With no app
request to continue, it starts one for the environment's default redirect URI, as an app would,
carrying the token: `GET /user_management/authorize?...&invitation_token=...`. Authorize checks
the invitation, prefills the invited e-mail, and shows sign-up (or sign-in for an existing
account). The forms carry the token; submitting signs the person up or in and accepts the
invitation, so the code the app receives is scoped to the invited organization.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from authkeep.api.state import app_state
from authkeep.crypto.secrets import hash_secret
from authkeep.pages.render import render_page
from authkeep.services.environments import list_redirect_uris
from authkeep.services.invitation_acceptance import usable
from authkeep.services.invitations import wire_state
from authkeep.services.users import find_by_email
from authkeep.store.models import AuthorizationRequest, Environment, Invitation, Organization

INVALID_TITLE = "This invitation can't be used"
INVALID_MESSAGE = (
    "The invitation link has expired, was revoked, or has already been used. Ask the person who "
    "invited you to send a new invitation."
)
MISMATCH_MESSAGE = "This invitation was sent to another e-mail address. Sign in with {email}."


def invalid_page(request: Request, environment: Environment | None) -> Response:
    return render_page(
        request,
        "error.html",
        environment,
        {"title": INVALID_TITLE, "message": INVALID_MESSAGE},
        400,
    )


async def landing(request: Request) -> Response:
    token = request.query_params.get("invitation_token", "")
    async with app_state(request).read_sessions() as session:
        invitation = (
            await session.scalar(
                select(Invitation).where(Invitation.token_hash == hash_secret(token))
            )
            if 0 < len(token) <= 200
            else None
        )
        environment = (
            await session.get(Environment, invitation.environment_id) if invitation else None
        )
        if invitation is None or environment is None or wire_state(invitation) != "pending":
            return invalid_page(request, environment)
        targets = await list_redirect_uris(session, environment.id)
    default = next((row for row in targets if row.is_default), targets[0] if targets else None)
    if default is None:
        return render_page(
            request,
            "error.html",
            environment,
            {
                "title": "No application to continue to",
                "message": "This environment has no sign-in callback yet, so the invitation "
                "cannot be accepted here. Ask the administrator to add a redirect URI.",
            },
            400,
        )
    query = urlencode(
        {
            "client_id": default.client_id,
            "redirect_uri": default.uri,
            "response_type": "code",
            "provider": "authkit",
            "invitation_token": token,
        }
    )
    return RedirectResponse(f"/user_management/authorize?{query}", status_code=302)


async def prepare(
    session: AsyncSession, environment: Environment, auth_request: AuthorizationRequest, token: str
) -> str:
    """An authorize request with `invitation_token`: lock it to the invited e-mail, and pick the
    page (sign-up, or sign-in when the account exists). Raises `InvitationInvalid`."""
    invitation = await usable(session, environment.id, token)
    auth_request.login_hint = invitation.email
    existing = await find_by_email(session, environment.id, invitation.email)
    page = "sign-in" if existing is not None else "sign-up"
    return f"/authkit/{page}?" + urlencode({"request": auth_request.id, "invitation_token": token})


async def for_form(
    session: AsyncSession, environment: Environment, token: str | None
) -> Invitation | None:
    """The invitation a page or form carries, if any. Raises `InvitationInvalid`."""
    if not token:
        return None
    return await usable(session, environment.id, token)


async def page_context(
    session: AsyncSession, invitation: Invitation | None, token: str | None
) -> dict[str, Any]:
    """What the sign-up and sign-in pages show and post back for an invitation."""
    if invitation is None:
        return {}
    organization = (
        await session.get(Organization, invitation.organization_id)
        if invitation.organization_id
        else None
    )
    return {
        "invitation_token": token,
        "email": invitation.email,
        "email_locked": True,
        "organization_name": organization.name if organization else None,
    }


routes = [Route("/authkit/invitation", landing, methods=["GET"])]
