"""How the Django integration answers a refusal: JSON in the WorkOS shape for APIs, a small HTML
page for browsers.

A request is an API request when its path starts with one of the configured prefixes (`/api/` by
default), when it carries an `Authorization` header, or when it accepts JSON but not HTML.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from django.http import HttpRequest, HttpResponse, JsonResponse

from authkeep.integrations.bearer import www_authenticate
from authkeep.integrations.errors import (
    AuthenticationFailed,
    AuthenticationRequired,
    AuthKitError,
    JwksUnavailable,
    PermissionDenied,
    TokenInvalid,
    VerifierError,
)

__all__ = ["error_page", "error_response", "is_api_request", "redirect", "status_and_code"]

_TITLES = {
    400: "Sign-in failed",
    401: "Sign-in required",
    403: "Not allowed",
    500: "Server misconfigured",
    502: "Identity server error",
    503: "Identity server unavailable",
}
_PAGE_STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;"
    "color:#1f2430}h1{font-size:1.4rem}a{color:#3451b2}"
)


def is_api_request(request: HttpRequest, api_path_prefixes: Sequence[str]) -> bool:
    if request.path.startswith(tuple(api_path_prefixes)):
        return True
    if "authorization" in request.headers:
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def error_response(
    request: HttpRequest, error: AuthKitError | VerifierError, api: bool
) -> HttpResponse:
    """The response for an error raised while handling `request` (not the sign-in redirect)."""
    status, code = status_and_code(error)
    message = str(error)
    if api:
        response: HttpResponse = JsonResponse({"code": code, "message": message}, status=status)
    else:
        response = error_page(status, message)
    if isinstance(error, AuthenticationRequired) or (
        isinstance(error, PermissionDenied) and "authorization" in request.headers
    ):
        response["WWW-Authenticate"] = www_authenticate(error)
    return response


def error_page(status: int, message: str) -> HttpResponse:
    title = _TITLES.get(status, "Error")
    body = (
        f'<!doctype html><html lang="en"><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_PAGE_STYLE}</style><h1>{title}</h1><p>{html.escape(message)}</p>"
        '<p><a href="/">Home</a></p></html>'
    )
    return HttpResponse(body, status=status, content_type="text/html; charset=utf-8")


def status_and_code(error: AuthKitError | VerifierError) -> tuple[int, str]:
    if isinstance(error, AuthenticationFailed):
        # The identity server refused or failed a call this app made: not the visitor's fault.
        return 502, error.error
    if isinstance(error, AuthKitError):
        return error.status, error.code
    if isinstance(error, JwksUnavailable):
        return 503, error.code
    if isinstance(error, TokenInvalid):
        return 401, error.code
    return 500, error.code


def redirect(url: str, status: int = 302) -> HttpResponse:
    response = HttpResponse(status=status)
    response["Location"] = url
    response["Cache-Control"] = "no-store"
    return response
