"""How every framework integration answers a refusal, without the framework: which requests are
API requests, the status and WorkOS error code of each error, when a 401/403 carries a
`WWW-Authenticate` challenge, and the small HTML page browsers get.

A request is an API request when its path starts with one of the configured prefixes (`/api/` by
default), when it carries an `Authorization` header, or when it accepts JSON but not HTML. APIs get
the WorkOS error shape, `{"code": ..., "message": ...}`.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

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

TITLES = {
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


def is_api(
    path: str, has_authorization: bool, accept: str, api_path_prefixes: Sequence[str]
) -> bool:
    if path.startswith(tuple(api_path_prefixes)) or has_authorization:
        return True
    return "application/json" in accept and "text/html" not in accept


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


def challenge(error: AuthKitError | VerifierError, has_authorization: bool) -> dict[str, str]:
    """`WWW-Authenticate` for a missing or refused credential, and for a bearer caller's 403."""
    if isinstance(error, AuthenticationRequired) or (
        isinstance(error, PermissionDenied) and has_authorization
    ):
        return {"WWW-Authenticate": www_authenticate(error)}
    return {}


def error_page_html(status: int, message: str) -> str:
    title = TITLES.get(status, "Error")
    return (
        f'<!doctype html><html lang="en"><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_PAGE_STYLE}</style><h1>{title}</h1><p>{html.escape(message)}</p>"
        '<p><a href="/">Home</a></p></html>'
    )
