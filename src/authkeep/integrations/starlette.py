"""Starlette and FastAPI: a middleware, dependencies, and the sign-in routes.

    from typing import Annotated
    from fastapi import Depends, FastAPI
    from authkeep.integrations import AsyncAuthKit, AuthSession
    from authkeep.integrations.starlette import AuthKitMiddleware, auth_router, require_user

    authkit = AsyncAuthKit()  # WORKOS_* variables; WORKOS_REDIRECT_URI ends in /auth/callback
    app = FastAPI()
    app.add_middleware(AuthKitMiddleware, authkit=authkit)
    app.mount("/auth", auth_router())  # /auth/login, /auth/callback, /auth/logout, ...

    @app.get("/")
    async def home(session: Annotated[AuthSession, Depends(require_user)]) -> dict[str, str]:
        return {"email": session.user["email"]}

The middleware loads the session lazily: the first dependency that asks verifies the cookie's
access token and refreshes it when due; the rewritten (or cleared) cookie goes out with the
response. Dependencies (plain async functions of the `Request`, so Starlette code can call them):

* `current_session`: the `AuthSession` or None. `require_user`: the `AuthSession`, else sign-in
  is required: a page (GET) is redirected to sign-in and comes back to the same path; an API
  request gets 401 `{"code", "message"}` with `WWW-Authenticate: Bearer error=...`.
* `require_bearer`: the `Authorization: Bearer` access token's claims, or an `ApiKey` when the
  `AsyncAuthKit` accepts API keys; else 401 naming the problem (missing, expired, forged, ...).
* `require_permission("posts:write")`, `require_role("admin")`: the bearer credential when the
  request has an `Authorization` header, else the session; 403 when the permission or role is
  missing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authkeep.integrations.async_client import AsyncAuthKit
from authkeep.integrations.bearer import ApiKey
from authkeep.integrations.errors import (
    AuthenticationRequired,
    AuthKitError,
    PermissionDenied,
    VerifierError,
)
from authkeep.integrations.flows import Principal
from authkeep.integrations.session import AuthSession
from authkeep.integrations.starlette_routes import auth_router
from authkeep.integrations.starlette_support import (
    SCOPE_KEY,
    RequestAuth,
    error_response,
    is_api_request,
    redirect,
    request_auth,
    request_path,
)
from authkeep.integrations.verifier import AccessTokenClaims

__all__ = [
    "AuthKitMiddleware",
    "RequestAuth",
    "auth_router",
    "current_session",
    "request_auth",
    "require_bearer",
    "require_permission",
    "require_role",
    "require_user",
]

_MESSAGES = {
    "no_session_cookie": "sign in first: this request has no session",
    "invalid_session_cookie": "the session cookie is not valid here; sign in again",
    "user_mismatch": "the session cookie does not match its access token; sign in again",
    "refresh_failed": "the session has ended (its refresh was refused); sign in again",
    "refresh_unavailable": "the session cannot be renewed right now; try again shortly",
}


class AuthKitMiddleware:
    """Puts a `RequestAuth` in each request's scope, adds its cookies to the response, and turns
    the library's errors into responses: a redirect to sign-in for pages, 401/403 JSON for APIs
    (see authkeep.integrations.starlette_support)."""

    def __init__(
        self, app: ASGIApp, authkit: AsyncAuthKit, *, api_path_prefixes: Sequence[str] = ("/api/",)
    ) -> None:
        self.app = app
        self.authkit = authkit
        self.api_path_prefixes = tuple(api_path_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        auth = RequestAuth(self.authkit, self.api_path_prefixes)
        scope[SCOPE_KEY] = auth
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_cookies(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for cookie in auth.cookies:
                    headers.append("set-cookie", cookie.header())
            await send(message)

        try:
            await self.app(scope, receive, send_with_cookies)
        except (AuthKitError, VerifierError) as error:
            if started:
                raise
            request = Request(scope)
            if isinstance(error, AuthenticationRequired) and _may_redirect(request, auth):
                sign_in = self.authkit.sign_in(
                    return_to=request_path(request), cookies=request.cookies
                )
                for cookie in sign_in.cookies:
                    auth.set_cookie(cookie)
                response = redirect(sign_in.url)
            else:
                response = error_response(request, error, self.api_path_prefixes)
            await response(scope, receive, send_with_cookies)


async def current_session(request: Request) -> AuthSession | None:
    """The signed-in session, or None (refreshed when due)."""
    return (await request_auth(request).session_result(request)).session


async def require_user(request: Request) -> AuthSession:
    """The signed-in session; else a redirect to sign-in (pages) or a 401 (APIs)."""
    result = await request_auth(request).session_result(request)
    if result.session is None:
        reason = result.reason or "no_session_cookie"
        raise AuthenticationRequired(reason, _MESSAGES.get(reason, "sign in first"))
    return result.session


async def require_bearer(request: Request) -> AccessTokenClaims | ApiKey:
    """The verified `Authorization: Bearer` credential; else a 401 naming the problem."""
    return await request_auth(request).bearer(request)


def require_permission(permission: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency that needs `permission` (a slug such as `posts:write`); 403 without it.

    >>> @app.post("/posts")
    ... async def create(who: Annotated[Principal, Depends(require_permission("posts:write"))]):
    """

    async def dependency(request: Request) -> Principal:
        principal = await _principal(request)
        if permission not in principal.permissions:
            raise PermissionDenied(f"this needs the permission {permission!r}")
        return principal

    return dependency


def require_role(role: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency that needs the organization role `role` (its slug); 403 without it."""

    async def dependency(request: Request) -> Principal:
        principal = await _principal(request)
        if role != principal.role and role not in principal.roles:
            raise PermissionDenied(f"this needs the role {role!r}")
        return principal

    return dependency


async def _principal(request: Request) -> Principal:
    if "authorization" in request.headers:
        return await require_bearer(request)
    return await require_user(request)


def _may_redirect(request: Request, auth: RequestAuth) -> bool:
    return request.method in ("GET", "HEAD") and not is_api_request(request, auth.api_path_prefixes)
