"""The sign-in routes as a Flask blueprint, registered by `AuthKitFlask` (at `/auth` by default):

* `GET /login?return_to=/path` (and `organization_id`, `login_hint`, `screen_hint`),
  `GET /sign-up`: set the PKCE verifier cookie and redirect to the server's authorize URL.
* `GET /callback`: the redirect URI. Exchanges the code, sets the session cookie, clears the
  verifier cookie, redirects to the return path. A bad callback is answered 400 and names why.
* `GET|POST /logout?return_to=/path`: clears the cookies and redirects to the server's logout URL,
  which ends the session and sends the browser to `return_to` when the server allows it.
* `POST /switch-organization` (form or JSON: `organization_id`, `return_to`): refresh into that
  organization; 303 to `return_to`, or the new claims as JSON for API callers. When the
  organization needs SSO or MFA enrolment the browser is sent to sign in again for it.

`POST /switch-organization` changes the session, so it needs proof that this site sent it: an
`Origin` (or, without one, a `Referer`) of this site, or a JSON body, which other sites cannot
post without a CORS preflight. The session cookie's `SameSite=Lax` keeps it off cross-site POSTs
too.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Response, jsonify, request

from authkeep.integrations.errors import (
    AuthenticationFailed,
    AuthenticationRequired,
    CallbackError,
    PermissionDenied,
)
from authkeep.integrations.flask_support import (
    app_auth,
    error_page,
    is_api_request,
    redirect,
    request_auth,
)
from authkeep.integrations.session import SessionResult, safe_return_to

__all__ = ["auth_blueprint"]

_SIGN_IN_AGAIN = frozenset(("sso_required", "mfa_enrollment"))
_SCREEN_HINTS = frozenset(("sign-in", "sign-up"))


def auth_blueprint(name: str = "authkit") -> Blueprint:
    """The routes; `AuthKitFlask` registers them, with its `url_prefix`."""
    blueprint = Blueprint(name, __name__)
    blueprint.add_url_rule("/login", "login", _login, methods=["GET"])
    blueprint.add_url_rule("/sign-up", "sign_up", _sign_up, methods=["GET"])
    blueprint.add_url_rule("/callback", "callback", _callback, methods=["GET"])
    blueprint.add_url_rule("/logout", "logout", _logout, methods=["GET", "POST"])
    blueprint.add_url_rule(
        "/switch-organization", "switch_organization", _switch_organization, methods=["POST"]
    )
    return blueprint


def _login(screen_hint: str | None = None) -> Response:
    hint = screen_hint or request.args.get("screen_hint")
    sign_in = app_auth().authkit.sign_in(
        return_to=request.args.get("return_to"),
        screen_hint=hint if hint in _SCREEN_HINTS else None,
        organization_id=request.args.get("organization_id") or None,
        login_hint=request.args.get("login_hint") or None,
        cookies=request.cookies,
    )
    auth = request_auth()
    for cookie in sign_in.cookies:
        auth.set_cookie(cookie)
    return redirect(sign_in.url)


def _sign_up() -> Response:
    return _login(screen_hint="sign-up")


def _callback() -> Response:
    state, auth = app_auth(), request_auth()
    try:
        result = state.authkit.handle_callback(request.args, request.cookies)
    except (CallbackError, AuthenticationFailed) as error:
        if request.args.get("state"):
            auth.set_cookie(state.authkit.clear_verifier_cookie(request.args["state"]))
        code = error.code if isinstance(error, CallbackError) else error.error
        if is_api_request(request, state.api_path_prefixes):
            return _json({"code": code, "message": str(error)}, 400)
        return error_page(400, f"{error} ({code})")
    auth.use(SessionResult(result.session, result.cookies))
    return redirect(result.redirect_to)


def _logout() -> Response:
    state = app_auth()
    wanted = _values().get("return_to") or state.sign_out_return_to
    return_to = None
    if wanted:
        return_to = state.authkit.absolute_url(wanted) if wanted.startswith("/") else wanted
    sign_out = state.authkit.sign_out(request.cookies, return_to=return_to)
    request_auth().use(SessionResult(None, sign_out.cookies, reason="signed_out"))
    return redirect(sign_out.url, 303 if request.method == "POST" else 302)


def _switch_organization() -> Response:
    state, auth = app_auth(), request_auth()
    _check_origin()
    values = _values()
    organization_id = values.get("organization_id")
    return_to = safe_return_to(values.get("return_to"))
    if not organization_id:
        return _json({"code": "invalid_request", "message": "organization_id is required"}, 400)
    try:
        result = state.authkit.refresh(request.cookies, organization_id=organization_id)
    except AuthenticationFailed as failure:
        return _switch_failed(failure, organization_id, return_to)
    auth.use(result)
    if result.session is None:
        raise AuthenticationRequired(result.reason or "no_session_cookie", "sign in first")
    if is_api_request(request, state.api_path_prefixes):
        session = result.session
        claims = {
            "organization_id": session.organization_id,
            "role": session.role,
            "roles": list(session.roles),
            "permissions": list(session.permissions),
        }
        return _json(claims, 200)
    return redirect(return_to, 303)


def _switch_failed(failure: AuthenticationFailed, organization_id: str, return_to: str) -> Response:
    state, auth = app_auth(), request_auth()
    body = failure.body if isinstance(failure.body, dict) else {}
    target = body.get("authkit_redirect_url")
    if isinstance(target, str) or failure.error in _SIGN_IN_AGAIN:
        sign_in = state.authkit.sign_in(
            return_to=return_to, organization_id=organization_id, cookies=request.cookies
        )
        for cookie in sign_in.cookies:
            auth.set_cookie(cookie)
        return redirect(target if isinstance(target, str) else sign_in.url, 303)
    if failure.is_transient:
        raise failure
    if failure.error == "invalid_grant":
        auth.use(
            SessionResult(None, (state.authkit.clear_session_cookie(),), reason="refresh_failed")
        )
        raise AuthenticationRequired("refresh_failed", "the session has ended; sign in again")
    if is_api_request(request, state.api_path_prefixes):
        return _json({"code": failure.error, "message": str(failure)}, 400)
    return error_page(400, str(failure))


def _check_origin() -> None:
    """Refuse a state-changing request that another site may have sent."""
    own = request.host_url.rstrip("/")
    allowed = (own, app_auth().authkit.config.app_origin)
    origin = request.headers.get("Origin")
    if origin is None and request.referrer:
        parts = urlsplit(request.referrer)
        origin = f"{parts.scheme}://{parts.netloc}"
    if origin is None:
        if request.is_json:
            return
        raise PermissionDenied("this request needs an Origin or Referer header of this site")
    if origin not in allowed:
        raise PermissionDenied(f"a request from {origin} cannot change this session")


def _values() -> dict[str, str]:
    """Query parameters, overlaid with a POST's JSON or form body."""
    values: dict[str, object] = dict(request.args.items())
    if request.method == "POST":
        if request.is_json:
            parsed = request.get_json(silent=True)
            if isinstance(parsed, dict):
                values.update(parsed)
        else:
            values.update(request.form.items())
    return {key: value for key, value in values.items() if isinstance(value, str)}


def _json(body: dict[str, object], status: int) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response
