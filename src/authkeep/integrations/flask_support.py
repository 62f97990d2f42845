"""The Flask integration's per-request state, and how it answers a refusal: JSON for APIs, HTML
(or a redirect to sign-in) for pages.

A request is an API request when its path starts with one of the configured prefixes (`/api/` by
default), when it carries an `Authorization` header, or when it accepts JSON but not HTML. APIs get
the WorkOS error shape, `{"code": ..., "message": ...}`, and 401s a `WWW-Authenticate` header.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

from flask import Flask, Request, Response, current_app, g, jsonify

from authkeep.integrations.bearer import ApiKey
from authkeep.integrations.errors import AuthKitError, VerifierError
from authkeep.integrations.refusals import challenge, error_page_html, is_api, status_and_code
from authkeep.integrations.session import Cookie, SessionResult
from authkeep.integrations.sync_client import AuthKit
from authkeep.integrations.verifier import AccessTokenClaims

__all__ = [
    "EXTENSION_KEY",
    "AppAuth",
    "RequestAuth",
    "app_auth",
    "error_page",
    "error_response",
    "is_api_request",
    "redirect",
    "request_auth",
    "request_path",
]

EXTENSION_KEY = "authkeep"


@dataclass(frozen=True, slots=True)
class AppAuth:
    """What `AuthKitFlask.init_app` keeps in `app.extensions["authkeep"]`."""

    authkit: AuthKit
    api_path_prefixes: tuple[str, ...]
    blueprint_name: str
    sign_out_return_to: str | None


@dataclass(slots=True)
class RequestAuth:
    """One request's authentication state, kept in `flask.g`: the session (loaded before the
    view), the verified bearer credential, and the cookies the response must set."""

    result: SessionResult | None = None
    bearer: AccessTokenClaims | ApiKey | None = None
    cookies: dict[str, Cookie] = field(default_factory=dict)

    def set_cookie(self, cookie: Cookie) -> None:
        """Queue a cookie for the response; a later one of the same name replaces it."""
        self.cookies[cookie.name] = cookie

    def use(self, result: SessionResult) -> None:
        """Make `result` the request's session (after a sign-in, refresh or sign-out)."""
        self.result = result
        for cookie in result.cookies:
            self.set_cookie(cookie)


def app_auth(app: Flask | None = None) -> AppAuth:
    """The app's `AppAuth`; a clear error when the extension is missing."""
    state = (app or current_app).extensions.get(EXTENSION_KEY)
    if not isinstance(state, AppAuth):
        raise RuntimeError("authkeep's decorators need the extension: AuthKitFlask(app)")
    return state


def request_auth() -> RequestAuth:
    """The current request's `RequestAuth`, made on first use."""
    auth = g.get("_authkeep")
    if not isinstance(auth, RequestAuth):
        auth = RequestAuth()
        g._authkeep = auth
    return auth


def is_api_request(request: Request, api_path_prefixes: Sequence[str]) -> bool:
    headers = request.headers
    return is_api(
        request.path, "Authorization" in headers, headers.get("Accept", ""), api_path_prefixes
    )


def request_path(request: Request) -> str:
    """The path and query the browser asked for, still percent-encoded (a return path)."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if isinstance(raw, str) and raw.startswith("/"):
        return raw
    path = quote(request.script_root + request.path, safe="/:@!$&'()*+,;=-._~%")
    query = request.query_string.decode("latin-1")
    return path + ("?" + query if query else "")


def error_response(
    request: Request, error: AuthKitError | VerifierError, api_path_prefixes: Sequence[str]
) -> Response:
    """The response for an error raised while handling `request` (not the sign-in redirect)."""
    status, code = status_and_code(error)
    message = str(error)
    headers = challenge(error, "Authorization" in request.headers)
    if is_api_request(request, api_path_prefixes):
        response = jsonify({"code": code, "message": message})
        response.status_code = status
        response.headers.update(headers)
        return response
    return error_page(status, message, headers)


def error_page(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(error_page_html(status, message), status, headers=headers, mimetype="text/html")


def redirect(url: str, status: int = 302) -> Response:
    return Response(status=status, headers={"Location": url, "Cache-Control": "no-store"})
