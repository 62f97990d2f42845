"""The sign-in views, routed by `authkeep.integrations.django.urls`:

* `GET login?return_to=/path` (and `organization_id`, `login_hint`), `GET sign-up`: set the PKCE
  verifier cookie and redirect to the server's authorize URL.
* `GET callback`: the redirect URI. Exchanges the code, sets the session cookie, clears the
  verifier cookie, redirects to the return path; a bad callback is answered 400 and names why.
* `GET|POST logout?return_to=/path`: clears the cookies and redirects to the server's logout URL.
* `POST switch-organization` (form or JSON: `organization_id`, `return_to`): refresh into that
  organization; 303 to `return_to`, or the new claims as JSON for API callers. An organization
  that needs SSO or MFA enrolment sends the browser to sign in again for it. Django's
  `CsrfViewMiddleware` guards it like any other POST.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from authkeep.integrations.django.conf import integration_settings
from authkeep.integrations.django.middleware import request_auth
from authkeep.integrations.django.responses import error_page, is_api_request, redirect
from authkeep.integrations.errors import AuthenticationFailed, AuthenticationRequired, CallbackError
from authkeep.integrations.session import SessionResult, safe_return_to

__all__ = ["callback", "login", "logout", "sign_up", "switch_organization"]

_SIGN_IN_AGAIN = frozenset(("sso_required", "mfa_enrollment"))


@require_GET
def login(request: HttpRequest) -> HttpResponse:
    return _sign_in(request, None)


@require_GET
def sign_up(request: HttpRequest) -> HttpResponse:
    return _sign_in(request, "sign-up")


def _sign_in(request: HttpRequest, screen_hint: str | None) -> HttpResponse:
    auth = request_auth(request)
    sign_in = integration_settings().authkit.sign_in(
        return_to=request.GET.get("return_to"),
        screen_hint=screen_hint,
        organization_id=request.GET.get("organization_id") or None,
        login_hint=request.GET.get("login_hint") or None,
        cookies=request.COOKIES,
    )
    for cookie in sign_in.cookies:
        auth.set_cookie(cookie)
    return redirect(sign_in.url)


@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    auth = request_auth(request)
    options = integration_settings()
    try:
        result = options.authkit.handle_callback(request.GET.dict(), request.COOKIES)
    except (CallbackError, AuthenticationFailed) as error:
        state = request.GET.get("state")
        if state:
            auth.set_cookie(options.authkit.clear_verifier_cookie(state))
        code = error.code if isinstance(error, CallbackError) else error.error
        if is_api_request(request, options.api_path_prefixes):
            return JsonResponse({"code": code, "message": str(error)}, status=400)
        return error_page(400, f"{error} ({code})")
    auth.use(request, SessionResult(result.session, result.cookies))
    return redirect(result.redirect_to)


@require_http_methods(["GET", "POST"])
def logout(request: HttpRequest) -> HttpResponse:
    auth = request_auth(request)
    options = integration_settings()
    wanted = _values(request).get("return_to") or options.sign_out_return_to
    return_to = None
    if wanted:
        return_to = options.authkit.absolute_url(wanted) if wanted.startswith("/") else wanted
    sign_out = options.authkit.sign_out(request.COOKIES, return_to=return_to)
    auth.use(request, SessionResult(None, sign_out.cookies, reason="signed_out"))
    return redirect(sign_out.url, 303 if request.method == "POST" else 302)


@require_POST
def switch_organization(request: HttpRequest) -> HttpResponse:
    auth = request_auth(request)
    options = integration_settings()
    values = _values(request)
    organization_id = values.get("organization_id")
    return_to = safe_return_to(values.get("return_to"))
    if not organization_id:
        return JsonResponse(
            {"code": "invalid_request", "message": "organization_id is required"}, status=400
        )
    try:
        result = options.authkit.refresh(request.COOKIES, organization_id=organization_id)
    except AuthenticationFailed as failure:
        return _switch_failed(request, failure, organization_id, return_to)
    auth.use(request, result)
    session = auth.require_session()
    if is_api_request(request, options.api_path_prefixes):
        claims = {
            "organization_id": session.organization_id,
            "role": session.role,
            "roles": list(session.roles),
            "permissions": list(session.permissions),
        }
        return JsonResponse(claims)
    return redirect(return_to, 303)


def _switch_failed(
    request: HttpRequest, failure: AuthenticationFailed, organization_id: str, return_to: str
) -> HttpResponse:
    auth = request_auth(request)
    options = integration_settings()
    body = failure.body if isinstance(failure.body, dict) else {}
    target = body.get("authkit_redirect_url")
    if isinstance(target, str) or failure.error in _SIGN_IN_AGAIN:
        sign_in = options.authkit.sign_in(
            return_to=return_to, organization_id=organization_id, cookies=request.COOKIES
        )
        for cookie in sign_in.cookies:
            auth.set_cookie(cookie)
        return redirect(target if isinstance(target, str) else sign_in.url, 303)
    if failure.is_transient:
        raise failure
    if failure.error == "invalid_grant":
        cleared = SessionResult(
            None, (options.authkit.clear_session_cookie(),), reason="refresh_failed"
        )
        auth.use(request, cleared)
        raise AuthenticationRequired("refresh_failed", "the session has ended; sign in again")
    if is_api_request(request, options.api_path_prefixes):
        return JsonResponse({"code": failure.error, "message": str(failure)}, status=400)
    return error_page(400, str(failure))


def _values(request: HttpRequest) -> dict[str, str]:
    """Query parameters, overlaid with a POST's form or JSON body."""
    values: dict[str, Any] = request.GET.dict()
    if request.method == "POST":
        if request.content_type == "application/json":
            try:
                parsed = json.loads(request.body)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                values.update(parsed)
        else:
            values.update(request.POST.dict())
    return {key: value for key, value in values.items() if isinstance(value, str)}
