"""Sessions: sign-out (a browser navigation), revocation and listing (CONTRACT.md §5)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from authkeep.api import browser
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
from authkeep.errors import ValidationFailed
from authkeep.pages.render import hosted_cookie_name, render_page
from authkeep.services import sessions
from authkeep.services.environments import list_logout_uris
from authkeep.services.signin import end_hosted_session
from authkeep.services.users import get_user
from authkeep.store.models import Environment, Session


def session_json(row: Session) -> dict[str, Any]:
    body: dict[str, Any] = {
        "object": "session",
        "id": row.id,
        "user_id": row.user_id,
        "ip_address": row.ip_address,
        "user_agent": row.user_agent,
        "auth_method": row.auth_method,
        "status": row.status,
        "expires_at": timestamp(row.expires_at),
        "ended_at": timestamp(row.ended_at),
        "created_at": timestamp(row.created_at),
        "updated_at": timestamp(row.updated_at),
    }
    if row.organization_id is not None:  # optional in the spec, a string when present
        body["organization_id"] = row.organization_id
    return body


@api_key_required
async def revoke(request: Request, ctx: ApiContext) -> Response:
    from authkeep.api.bodies import RevokeSession

    body, _ = await parse_body(request, RevokeSession)
    await sessions.revoke_session(ctx.session, ctx.environment.id, body.session_id)
    return json_response({})


@api_key_required
async def list_user_sessions(request: Request, ctx: ApiContext) -> Response:
    user = await get_user(ctx.session, ctx.environment.id, request.path_params["id"])
    page = await sessions.list_user_sessions(
        ctx.session, ctx.environment.id, user.id, page_request(request, "session")
    )
    return list_response(page, session_json)


async def logout(request: Request) -> Response:
    """End the session and the hosted sign-in, clear browser cookies, go to `return_to` if it is
    an allowed logout URI. Idempotent: an unknown or ended session still signs out."""
    session_id = request.query_params.get("session_id")
    if not session_id:
        raise ValidationFailed.field("session_id", "required", "session_id is required.")
    return_to = request.query_params.get("return_to")
    state = app_state(request)
    async with state.sessions() as db:
        row = await db.get(Session, session_id)
        environment = await db.get(Environment, row.environment_id) if row else None
        allowed: list[str] = []
        if row is not None and environment is not None:
            await sessions.revoke_session(db, environment.id, row.id)
            await end_hosted_session(db, row.hosted_session_id)
            allowed = [r.uri for r in await list_logout_uris(db, environment.id)]
        await db.commit()
    if return_to and return_to in allowed:
        response: Response = RedirectResponse(return_to, status_code=302)
    elif len(allowed) >= 1 and not return_to:
        response = RedirectResponse(allowed[0], status_code=302)
    else:
        response = render_page(
            request,
            "signed_out.html",
            environment,
            {"return_to_refused": bool(return_to)},
        )
    if row is not None:
        browser.clear_browser_cookies(request, response, row.client_id)
        response.delete_cookie(hosted_cookie_name(row.environment_id), path="/")
    return response


routes = [
    Route("/user_management/sessions/logout", logout, methods=["GET"]),
    Route("/user_management/sessions/revoke", revoke, methods=["POST"]),
    Route("/user_management/users/{id}/sessions", list_user_sessions, methods=["GET"]),
]
