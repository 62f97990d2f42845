"""The Starlette integration's per-request state, and how it answers a refusal: JSON for APIs,
HTML (or a redirect to sign-in) for pages.

A request is an API request when its path starts with one of the configured prefixes (`/api/` by
default), when it carries an `Authorization` header, or when it accepts JSON but not HTML. APIs get
the WorkOS error shape, `{"code": ..., "message": ...}`, and 401s a `WWW-Authenticate` header.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from authkeep.integrations.async_client import AsyncAuthKit
from authkeep.integrations.bearer import ApiKey
from authkeep.integrations.errors import AuthKitError, VerifierError
from authkeep.integrations.refusals import challenge, error_page_html, is_api, status_and_code
from authkeep.integrations.session import Cookie, SessionResult
from authkeep.integrations.verifier import AccessTokenClaims

__all__ = [
    "SCOPE_KEY",
    "RequestAuth",
    "error_page",
    "error_response",
    "is_api_request",
    "redirect",
    "request_auth",
    "request_path",
]

SCOPE_KEY = "authkeep.auth"


class RequestAuth:
    """One request's authentication state, kept in the ASGI scope by `AuthKitMiddleware`."""

    def __init__(self, authkit: AsyncAuthKit, api_path_prefixes: Sequence[str]) -> None:
        self.authkit = authkit
        self.api_path_prefixes = tuple(api_path_prefixes)
        self._cookies: dict[str, Cookie] = {}
        self._result: SessionResult | None = None
        self._bearer: AccessTokenClaims | ApiKey | None = None

    def set_cookie(self, cookie: Cookie) -> None:
        """Queue a cookie for the response; a later one of the same name replaces it."""
        self._cookies[cookie.name] = cookie

    @property
    def cookies(self) -> list[Cookie]:
        return list(self._cookies.values())

    async def session_result(self, request: Request) -> SessionResult:
        if self._result is None:
            self.use(await self.authkit.load_session(request.cookies))
        assert self._result is not None
        return self._result

    def use(self, result: SessionResult) -> None:
        """Make `result` the request's session (after a sign-in, refresh or sign-out)."""
        self._result = result
        for cookie in result.cookies:
            self.set_cookie(cookie)

    async def bearer(self, request: Request) -> AccessTokenClaims | ApiKey:
        if self._bearer is None:
            authorization = request.headers.get("authorization")
            self._bearer = await self.authkit.authenticate_bearer(authorization)
        return self._bearer


def request_auth(request: Request) -> RequestAuth:
    """The request's `RequestAuth`; a clear error when the middleware is missing."""
    auth = request.scope.get(SCOPE_KEY)
    if not isinstance(auth, RequestAuth):
        raise RuntimeError(
            "authkeep's dependencies need the middleware: app.add_middleware("
            "AuthKitMiddleware, authkit=AsyncAuthKit(...))"
        )
    return auth


def is_api_request(request: Request, api_path_prefixes: Sequence[str]) -> bool:
    headers = request.headers
    return is_api(
        request.url.path, "authorization" in headers, headers.get("accept", ""), api_path_prefixes
    )


def request_path(request: Request) -> str:
    """The path and query the browser asked for, still percent-encoded (a return path)."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string", b"")
    return raw.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")


def error_response(
    request: Request, error: AuthKitError | VerifierError, api_path_prefixes: Sequence[str]
) -> Response:
    """The response for an error raised while handling `request` (not the sign-in redirect)."""
    status, code = status_and_code(error)
    message = str(error)
    headers = challenge(error, "authorization" in request.headers)
    if is_api_request(request, api_path_prefixes):
        return JSONResponse({"code": code, "message": message}, status, headers=headers)
    return error_page(status, message, headers)


def error_page(status: int, message: str, headers: dict[str, str] | None = None) -> HTMLResponse:
    return HTMLResponse(error_page_html(status, message), status, headers=headers)


def redirect(url: str, status: int = 302) -> Response:
    return Response(status_code=status, headers={"Location": url, "Cache-Control": "no-store"})
