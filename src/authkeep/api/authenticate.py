"""`POST /user_management/authenticate` (CONTRACT.md §3): JSON or form body, one grant each.

Client authentication is `client_secret` (an API key of the client's environment) in the body or
as `Authorization: Bearer`, or PKCE for public clients. Errors of the RFC 6749 grants use the
OAuth shape; `invalid_grant` is always 400 (§0.3 rule 7).
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from authkeep.api import browser
from authkeep.api.state import AppState, app_state
from authkeep.api.users import user_json
from authkeep.api.wire import bearer_token, json_response, read_body
from authkeep.errors import InvalidClient, OAuthError
from authkeep.services.environments import environment_id_for_api_key
from authkeep.services.grants import (
    authorization_code,
    email_verification,
    magic_auth,
    organization_selection,
    password,
    refresh_token,
)
from authkeep.services.grants.issue import GrantContext, GrantResult
from authkeep.store.db import open_session
from authkeep.store.models import Client, Environment

GRANTS: dict[str, Callable[[GrantContext], Awaitable[GrantResult]]] = {
    "authorization_code": authorization_code.grant,
    "refresh_token": refresh_token.grant,
    "password": password.grant,
    organization_selection.GRANT_TYPE: organization_selection.grant,
    magic_auth.GRANT_TYPE: magic_auth.grant,
    email_verification.GRANT_TYPE: email_verification.grant,
}


# RFC 6749 §5.1: a response carrying tokens must not be stored by any cache.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

# Set on the scope by api/token_fast_path.py when it tried the one-step refresh and it declined.
ONE_STEP_TRIED = "authkeep.refresh_one_step_tried"


class UnsupportedGrantType(OAuthError):
    # RFC 6749 names this `unsupported_grant_type`; WorkOS answers `invalid_request` (§3.2).
    error = "invalid_request"


async def parse_fields(request: Request) -> dict[str, Any]:
    raw = await read_body(request)
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type == "application/x-www-form-urlencoded":
        return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    if not raw.strip():
        return {}
    try:
        fields = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise OAuthError("The body is neither JSON nor a form.") from None
    if not isinstance(fields, dict):
        raise OAuthError("The body must be a JSON object.")
    return fields


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def grant_response(result: GrantResult) -> dict[str, Any]:
    body: dict[str, Any] = {
        "user": user_json(result.user),
        "access_token": result.access_token,
        "refresh_token": result.issued.refresh_token,
        "authentication_method": result.authentication_method,
    }
    if result.issued.session.organization_id:
        body["organization_id"] = result.issued.session.organization_id
    return body


async def _client(
    state: AppState, session: AsyncSession, client_id: str
) -> tuple[Client, Environment]:
    """The client and its environment, kept per worker for a few seconds: every refresh needs
    them, and environment settings changes may take that long to reach the grant endpoint."""
    cached = state.client_cache.get(client_id)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1], cached[2]
    client = await session.get(Client, client_id)
    if client is None:
        raise InvalidClient(f"Unknown client_id '{client_id}'.")
    environment = await session.get(Environment, client.environment_id)
    assert environment is not None
    expires = time.monotonic() + state.settings.config_cache_seconds
    state.client_cache[client_id] = (expires, client, environment)
    return client, environment


async def _refresh_in_one_step(
    request: Request, state: AppState, client_id: str, fields: dict[str, Any], secret: Any
) -> Response | None:
    """Most requests here are refreshes of a live session: with the client in this worker's
    cache they need one database step and no ORM. Anything else returns None, changing nothing."""
    cached = state.client_cache.get(client_id)
    token = fields.get("refresh_token") or browser.refresh_cookie(request, client_id)
    organization_id = fields.get("organization_id") or None
    if (
        cached is None
        or cached[0] <= time.monotonic()
        or not isinstance(token, str)
        or not isinstance(organization_id, str | None)
        or not isinstance(secret, str | None)
    ):
        return None
    result = await refresh_token.grant_in_one_step(
        state.engine,
        state.box,
        state.issuer,
        cached[2],
        cached[1],
        refresh_token=token,
        organization_id=organization_id,
        client_secret=secret,
    )
    if result is None:
        return None
    response = json_response(grant_response(result), headers=NO_STORE)
    browser.after_grant(request, response, client_id, result)
    return response


async def authenticate(request: Request) -> Response:
    state = app_state(request)
    fields = await parse_fields(request)
    client_id = fields.get("client_id")
    if not isinstance(client_id, str) or not client_id:
        raise OAuthError("client_id is required.")
    grant_type = fields.get("grant_type")
    handler = GRANTS.get(grant_type) if isinstance(grant_type, str) else None
    if handler is None:
        raise UnsupportedGrantType(f"grant_type {grant_type!r} is not supported.")
    # Python sends `"client_secret": null` for public clients: null means absent.
    secret = fields.get("client_secret") or bearer_token(request)
    one_step = grant_type == "refresh_token" and not request.scope.get("state", {}).get(
        ONE_STEP_TRIED
    )
    if one_step:
        quick = await _refresh_in_one_step(request, state, client_id, fields, secret)
        if quick is not None:
            return quick
    # The client and its secret are checked on the read connection, and the grant reads there
    # too where it can: on SQLite the write connection is the process's only one.
    async with open_session(state.read_sessions) as reads, open_session(state.sessions) as session:
        cached = state.client_cache.get(client_id)
        lapsed = cached is None or cached[0] <= time.monotonic()
        client, environment = await _client(state, reads, client_id)
        if one_step and (lapsed or state.issuer.cached_key(environment.id) is None):
            # This worker's caches had lapsed: with them loaded, the one step is worth a try.
            await state.issuer.signing_key(reads, environment.id)
            quick = await _refresh_in_one_step(request, state, client_id, fields, secret)
            if quick is not None:
                return quick
        client_authenticated = False
        if secret and grant_type != "password":
            owner = await environment_id_for_api_key(reads, str(secret))
            if owner != environment.id:
                raise InvalidClient("client_secret is not an API key of this client's environment.")
            client_authenticated = True
        ctx = _context(
            state,
            session,
            reads,
            client,
            environment,
            fields,
            secret,
            client_authenticated=client_authenticated,
            peer=client_ip(request),
            user_agent=request.headers.get("user-agent"),
            refresh_cookie=browser.refresh_cookie(request, client.id),
        )
        result = await handler(ctx)
        await _commit_if_written(session)
    response = json_response(grant_response(result), headers=NO_STORE)
    browser.after_grant(request, response, client.id, result)
    return response


def _context(
    state: AppState,
    session: AsyncSession,
    reads: AsyncSession,
    client: Client,
    environment: Environment,
    fields: dict[str, Any],
    secret: Any,
    *,
    client_authenticated: bool,
    peer: str | None,
    user_agent: str | None,
    refresh_cookie: str | None,
) -> GrantContext:
    return GrantContext(
        session=session,
        reads=reads,
        engine=state.engine,
        client_secret=str(secret) if secret else None,
        environment=environment,
        client=client,
        client_authenticated=client_authenticated,
        box=state.box,
        issuer=state.issuer,
        limits=state.password_limits,
        fields=fields,
        ip_address=str(fields.get("ip_address") or peer or "") or None,
        user_agent=str(fields.get("user_agent") or user_agent or "") or None,
        extra={"refresh_cookie": refresh_cookie},
    )


async def _commit_if_written(session: AsyncSession) -> None:
    if session.in_transaction() or session.new or session.dirty or session.deleted:
        await session.commit()  # a password sign-in may have written without the ORM


async def password_sign_in(
    state: AppState,
    client_id: str,
    fields: dict[str, Any],
    secret: str | None,
    *,
    peer: str | None,
    user_agent: str | None,
) -> GrantResult | None:
    """The password grant of a backend (no Origin, so no cookies) for a client in this worker's
    cache, without the app around it (api/token_fast_path.py); None when the client is not
    cached (nothing was done: the app takes the request). Errors are raised as in the app."""
    cached = state.client_cache.get(client_id)
    if cached is None or cached[0] <= time.monotonic():
        return None
    _, client, environment = cached
    async with open_session(state.read_sessions) as reads, open_session(state.sessions) as session:
        ctx = _context(
            state,
            session,
            reads,
            client,
            environment,
            fields,
            secret,
            client_authenticated=False,  # the grant checks the secret in its first read
            peer=peer,
            user_agent=user_agent,
            refresh_cookie=None,
        )
        result = await password.grant(ctx)
        await _commit_if_written(session)
    return result


routes = [Route("/user_management/authenticate", authenticate, methods=["POST"])]
