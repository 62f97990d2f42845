"""The sign-in routes, mounted where the app likes (`app.mount("/auth", auth_router())`):

* `GET /login?return_to=/path` (and `organization_id`, `login_hint`), `GET /sign-up`: set the
  PKCE verifier cookie and redirect to the server's authorize URL.
* `GET /callback`: the redirect URI. Exchanges the code, sets the session cookie, clears the
  verifier cookie, redirects to the return path. A bad callback is answered 400 and names why.
* `GET|POST /logout?return_to=/path`: clears the cookies and redirects to the server's logout URL,
  which ends the session and sends the browser to `return_to` when the server allows it.
* `POST /switch-organization` (form or JSON: `organization_id`, `return_to`): refresh into that
  organization; 303 to `return_to`, or the new claims as JSON for API callers. When the
  organization needs SSO or MFA enrolment the browser is sent to sign in again for it.

State-changing routes are POST and refuse requests whose `Origin` is another site; the session
cookie's `SameSite=Lax` keeps it off cross-site POSTs too.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, Router

from authkeep.integrations.errors import (
    AuthenticationFailed,
    AuthenticationRequired,
    CallbackError,
    PermissionDenied,
)
from authkeep.integrations.session import SessionResult, safe_return_to
from authkeep.integrations.starlette_support import (
    error_page,
    is_api_request,
    redirect,
    request_auth,
)

__all__ = ["auth_router"]

_SIGN_IN_AGAIN = frozenset(("sso_required", "mfa_enrollment"))


def auth_router(*, sign_out_return_to: str | None = None) -> Router:
    """The sign-in routes as a Starlette `Router`; needs `AuthKitMiddleware` on the app.

    `sign_out_return_to` is where the server sends the browser after sign-out when the request
    names no `return_to` (a path of this app or an absolute URL the server allows); without it
    the server's default logout redirect applies.

    >>> app.mount("/auth", auth_router(sign_out_return_to="/"))
    """

    async def logout(request: Request) -> Response:
        auth = request_auth(request)
        values = await _values(request)
        wanted = values.get("return_to") or sign_out_return_to
        return_to = None
        if wanted:
            is_path = wanted.startswith("/")
            return_to = auth.authkit.absolute_url(wanted) if is_path else wanted
        sign_out = auth.authkit.sign_out(request.cookies, return_to=return_to)
        auth.use(SessionResult(None, sign_out.cookies, reason="signed_out"))
        return redirect(sign_out.url, 303 if request.method == "POST" else 302)

    return Router(
        routes=[
            Route("/login", _login, methods=["GET"]),
            Route("/sign-up", _sign_up, methods=["GET"]),
            Route("/callback", _callback, methods=["GET"]),
            Route("/logout", logout, methods=["GET", "POST"]),
            Route("/switch-organization", _switch_organization, methods=["POST"]),
        ]
    )


async def _login(request: Request, screen_hint: str | None = None) -> Response:
    auth = request_auth(request)
    query = request.query_params
    sign_in = auth.authkit.sign_in(
        return_to=query.get("return_to"),
        screen_hint=screen_hint,
        organization_id=query.get("organization_id") or None,
        login_hint=query.get("login_hint") or None,
        cookies=request.cookies,
    )
    for cookie in sign_in.cookies:
        auth.set_cookie(cookie)
    return redirect(sign_in.url)


async def _sign_up(request: Request) -> Response:
    return await _login(request, screen_hint="sign-up")


async def _callback(request: Request) -> Response:
    auth = request_auth(request)
    try:
        result = await auth.authkit.handle_callback(request.query_params, request.cookies)
    except (CallbackError, AuthenticationFailed) as error:
        state = request.query_params.get("state")
        if state:
            auth.set_cookie(auth.authkit.clear_verifier_cookie(state))
        code = error.code if isinstance(error, CallbackError) else error.error
        if is_api_request(request, auth.api_path_prefixes):
            return JSONResponse({"code": code, "message": str(error)}, 400)
        return error_page(400, f"{error} ({code})")
    auth.use(SessionResult(result.session, result.cookies))
    return redirect(result.redirect_to)


async def _switch_organization(request: Request) -> Response:
    auth = request_auth(request)
    _check_origin(request)
    values = await _values(request)
    organization_id = values.get("organization_id")
    return_to = safe_return_to(values.get("return_to"))
    if not organization_id:
        return JSONResponse(
            {"code": "invalid_request", "message": "organization_id is required"}, 400
        )
    try:
        result = await auth.authkit.refresh(request.cookies, organization_id=organization_id)
    except AuthenticationFailed as failure:
        return _switch_failed(request, failure, organization_id, return_to)
    auth.use(result)
    if result.session is None:
        raise AuthenticationRequired(result.reason or "no_session_cookie", "sign in first")
    if is_api_request(request, auth.api_path_prefixes):
        session = result.session
        claims = {
            "organization_id": session.organization_id,
            "role": session.role,
            "roles": list(session.roles),
            "permissions": list(session.permissions),
        }
        return JSONResponse(claims)
    return redirect(return_to, 303)


def _switch_failed(
    request: Request, failure: AuthenticationFailed, organization_id: str, return_to: str
) -> Response:
    auth = request_auth(request)
    body = failure.body if isinstance(failure.body, dict) else {}
    target = body.get("authkit_redirect_url")
    if isinstance(target, str) or failure.error in _SIGN_IN_AGAIN:
        sign_in = auth.authkit.sign_in(
            return_to=return_to, organization_id=organization_id, cookies=request.cookies
        )
        for cookie in sign_in.cookies:
            auth.set_cookie(cookie)
        return redirect(target if isinstance(target, str) else sign_in.url, 303)
    if failure.is_transient:
        raise failure
    if failure.error == "invalid_grant":
        auth.use(
            SessionResult(None, (auth.authkit.clear_session_cookie(),), reason="refresh_failed")
        )
        raise AuthenticationRequired("refresh_failed", "the session has ended; sign in again")
    message = str(failure)
    if is_api_request(request, auth.api_path_prefixes):
        return JSONResponse({"code": failure.error, "message": message}, 400)
    return error_page(400, message)


def _check_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin is None:
        return
    own = f"{request.url.scheme}://{request.url.netloc}"
    configured = request_auth(request).authkit.config.app_origin
    if origin not in (own, configured) or urlsplit(origin).path not in ("", "/"):
        raise PermissionDenied(f"a request from {origin} cannot change this session")


async def _values(request: Request) -> dict[str, str]:
    """Query parameters, overlaid with a POST's JSON or URL-encoded form body (parsed here, so
    the integration needs no multipart library)."""
    values: dict[str, Any] = dict(request.query_params)
    if request.method == "POST":
        content_type = request.headers.get("content-type", "")
        body = await request.body()
        if content_type.startswith("application/json"):
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                values.update(parsed)
        elif content_type.startswith("application/x-www-form-urlencoded"):
            values.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return {key: value for key, value in values.items() if isinstance(value, str)}
