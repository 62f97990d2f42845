"""How the Django integration answers a refusal: JSON in the WorkOS shape for APIs, a small HTML
page for browsers.

A request is an API request when its path starts with one of the configured prefixes (`/api/` by
default), when it carries an `Authorization` header, or when it accepts JSON but not HTML.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.http import HttpRequest, HttpResponse, JsonResponse

from authkeep.integrations.errors import AuthKitError, VerifierError
from authkeep.integrations.refusals import challenge, error_page_html, is_api, status_and_code

__all__ = ["error_page", "error_response", "is_api_request", "redirect", "status_and_code"]


def is_api_request(request: HttpRequest, api_path_prefixes: Sequence[str]) -> bool:
    headers = request.headers
    return is_api(
        request.path, "authorization" in headers, headers.get("accept", ""), api_path_prefixes
    )


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
    for name, value in challenge(error, "authorization" in request.headers).items():
        response[name] = value
    return response


def error_page(status: int, message: str) -> HttpResponse:
    return HttpResponse(
        error_page_html(status, message), status=status, content_type="text/html; charset=utf-8"
    )


def redirect(url: str, status: int = 302) -> HttpResponse:
    response = HttpResponse(status=status)
    response["Location"] = url
    response["Cache-Control"] = "no-store"
    return response
