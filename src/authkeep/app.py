"""`create_app(settings)`: routes, middleware and lifespan. No logic lives here."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from authkeep.api import (
    authenticate,
    browser,
    devtools,
    email_verification,
    environment_config,
    faults,
    health,
    invitations,
    jwks,
    magic_auth,
    memberships,
    organizations,
    password_reset,
    roles,
    sessions,
    token_fast_path,
    users,
)
from authkeep.api.middleware import RequestIdMiddleware
from authkeep.api.state import AppState
from authkeep.api.wire import error_response, json_response, server_error_response
from authkeep.config import Settings, load_settings
from authkeep.crypto.keys import SecretBox
from authkeep.errors import AuthkeepError, MethodNotAllowed, RouteNotFound
from authkeep.mail.sender import start_sender
from authkeep.pages import email_codes, mailbox
from authkeep.pages import invitation as invitation_pages
from authkeep.pages import password_reset as password_reset_pages
from authkeep.pages import routes as pages
from authkeep.services.passwords import return_free_memory, share_one_allocator_arena
from authkeep.services.tokens import TokenIssuer
from authkeep.store import rotation
from authkeep.store.db import create_engines, session_factory

log = logging.getLogger("authkeep")


async def _authkeep_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, AuthkeepError)
    return error_response(error)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code == 405:
        return error_response(MethodNotAllowed())
    if error.status_code == 404:
        return error_response(RouteNotFound(f"No endpoint at {request.url.path}."))
    return json_response(
        {"code": "http_error", "message": str(error.detail)}, error.status_code, error.headers
    )


async def _unexpected_error(request: Request, error: Exception) -> Response:
    # A 500 is a bug: log it with the request ID, answer in the WorkOS shape, leak nothing.
    request_id = request.scope.get("state", {}).get("request_id", "")
    # Starlette answers this from outside the middleware stack, so the ID is added here.
    return server_error_response(request_id, headers={"X-Request-ID": request_id})


def create_app(settings: Settings) -> Starlette:
    share_one_allocator_arena()
    engine, read_engine = create_engines(settings.database_url)
    state = AppState(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        read_sessions=session_factory(read_engine),
        box=SecretBox(settings.secret_key),
        issuer=TokenIssuer(SecretBox(settings.secret_key), settings.base_url),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        sender = start_sender(settings, state.sessions)
        yield
        if sender is not None:
            await sender.stop()
        await rotation.close(engine)
        await engine.dispose()
        await read_engine.dispose()

    app = Starlette(
        routes=[
            *health.routes,
            *jwks.routes,
            *users.routes,
            *magic_auth.routes,
            *email_verification.routes,
            *organizations.routes,
            *memberships.routes,
            *invitations.routes,
            *roles.routes,
            *environment_config.routes,
            *authenticate.routes,
            *password_reset.routes,
            *sessions.routes,
            *pages.routes,
            *password_reset_pages.routes,
            *invitation_pages.routes,
            *email_codes.routes,
            *mailbox.routes,
            *devtools.routes,
            *faults.routes,
        ],
        exception_handlers={
            AuthkeepError: _authkeep_error,
            HTTPException: _http_error,
            Exception: _unexpected_error,
        },
        lifespan=lifespan,
    )
    # Innermost: an injected fault's answer still gets the request ID and the CORS headers.
    app.add_middleware(faults.FaultInjection, state=state)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(browser.BrowserCors, state=state)
    # Outermost: the hottest public endpoint skips the rest of the stack on a cache hit.
    app.add_middleware(jwks.JwksFastPath, state=state)
    # Outermost of all: backends' refreshes, the most frequent request, skip the whole stack.
    app.add_middleware(token_fast_path.TokenFastPath, state=state)
    app.state.authkeep = state
    return app


def app_from_environment() -> Starlette:
    """Factory for `uvicorn --factory` workers: settings come from `AUTHKEEP_*` variables."""
    app = create_app(load_settings())
    # What exists now (modules, the ORM's mappers, the app) lives as long as the worker. Kept
    # out of the cyclic collector, a full collection scans only what requests allocate: on a
    # busy worker each one otherwise paused the event loop for 50-80 ms.
    gc.collect()
    gc.freeze()
    return_free_memory()
    return app
