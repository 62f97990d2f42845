"""Flask: an extension, the sign-in routes, and decorators for views.

    from flask import Flask
    from authkeep.integrations.flask import AuthKitFlask, current_user, login_required

    app = Flask(__name__)
    AuthKitFlask(app)  # WORKOS_* from app.config, else the environment; routes under /auth

    @app.get("/")
    @login_required
    def home() -> str:
        return f"Hello {current_user['email']}"

Before each view the request's session is loaded: the cookie's access token is verified and, when
due, refreshed; the rewritten (or cleared) cookie goes out with the response. Then:

* `current_session`: the `AuthSession`, or a proxy to None when signed out (test it with
  `if current_session:`, or call `get_session()`); `current_user`: its user dict, likewise.
* `@login_required`: a page (GET) without a session is redirected to sign-in and comes back to
  the same path; an API request gets 401 `{"code", "message"}` with `WWW-Authenticate`.
* `@bearer_required`: the `Authorization: Bearer` access token (or an `ApiKey` when the `AuthKit`
  accepts API keys), else 401 naming the problem; the credential is `current_principal`.
* `@permission_required("posts:write")`, `@role_required("admin")`: the bearer credential when
  the request has an `Authorization` header, else the session; 403 without the permission/role.

Routes (authkeep.integrations.flask_routes): `/auth/login`, `/auth/sign-up`, `/auth/callback`,
`/auth/logout`, `POST /auth/switch-organization`; `url_for("authkit.login", return_to=...)`.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ParamSpec, TypeVar, cast

from flask import Flask, Response, request
from werkzeug.local import LocalProxy

from authkeep.integrations.config import AuthKitConfig
from authkeep.integrations.errors import (
    AuthenticationRequired,
    AuthKitError,
    PermissionDenied,
    VerifierError,
)
from authkeep.integrations.flask_routes import auth_blueprint
from authkeep.integrations.flask_support import (
    EXTENSION_KEY,
    AppAuth,
    app_auth,
    error_response,
    is_api_request,
    redirect,
    request_auth,
    request_path,
)
from authkeep.integrations.flows import Principal
from authkeep.integrations.session import AuthSession
from authkeep.integrations.sync_client import AuthKit

__all__ = [
    "AuthKitFlask",
    "bearer_required",
    "current_principal",
    "current_session",
    "current_user",
    "get_session",
    "login_required",
    "permission_required",
    "role_required",
]

P = ParamSpec("P")
R = TypeVar("R")

_MESSAGES = {
    "no_session_cookie": "sign in first: this request has no session",
    "invalid_session_cookie": "the session cookie is not valid here; sign in again",
    "user_mismatch": "the session cookie does not match its access token; sign in again",
    "refresh_failed": "the session has ended (its refresh was refused); sign in again",
    "refresh_unavailable": "the session cannot be renewed right now; try again shortly",
    "signed_out": "signed out",
}
_CONFIG_PREFIXES = ("WORKOS_", "NEXT_PUBLIC_WORKOS_")


class AuthKitFlask:
    """The extension: `AuthKitFlask(app)` or `ext = AuthKitFlask(); ext.init_app(app)`.

    `authkit` is a ready `AuthKit`; without one it is built from `app.config`'s `WORKOS_*` keys,
    falling back to the environment, with `config` keywords (`base_url=...`) overriding both.
    `url_prefix` places the sign-in routes; `api_path_prefixes` name the paths answered with
    JSON; `sign_out_return_to` is where sign-out lands when the request names no `return_to`.
    """

    def __init__(
        self,
        app: Flask | None = None,
        authkit: AuthKit | None = None,
        *,
        url_prefix: str = "/auth",
        api_path_prefixes: Sequence[str] = ("/api/",),
        sign_out_return_to: str | None = None,
        blueprint_name: str = "authkit",
        **config: Any,
    ) -> None:
        self.authkit = authkit
        self.url_prefix = url_prefix
        self.api_path_prefixes = tuple(api_path_prefixes)
        self.sign_out_return_to = sign_out_return_to
        self.blueprint_name = blueprint_name
        self.config = config
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        authkit = self.authkit or AuthKit(AuthKitConfig.from_env(_environ(app), **self.config))
        if self.authkit is None:
            self.authkit = authkit
        app.extensions[EXTENSION_KEY] = AppAuth(
            authkit, self.api_path_prefixes, self.blueprint_name, self.sign_out_return_to
        )
        app.register_blueprint(auth_blueprint(self.blueprint_name), url_prefix=self.url_prefix)
        app.before_request(_load_session)
        app.after_request(_set_cookies)
        app.register_error_handler(AuthKitError, _refusal)
        app.register_error_handler(VerifierError, _refusal)


def get_session() -> AuthSession | None:
    """The signed-in session of this request, or None (refreshed when due)."""
    auth = request_auth()
    if auth.result is None:
        auth.use(app_auth().authkit.load_session(request.cookies))
    assert auth.result is not None
    return auth.result.session


def _current_user() -> Mapping[str, Any] | None:
    session = get_session()
    return session.user if session else None


def _current_principal() -> Principal | None:
    auth = request_auth()
    return auth.bearer if auth.bearer is not None else get_session()


current_session = cast(AuthSession, LocalProxy(get_session))
"""The signed-in `AuthSession`; a proxy to None when signed out (`if current_session:`)."""
current_user = cast(Mapping[str, Any], LocalProxy(_current_user))
"""The signed-in user (`current_user["email"]`); a proxy to None when signed out."""
current_principal = cast(Principal, LocalProxy(_current_principal))
"""Who the request acts for: the bearer credential checked by a decorator, else the session."""


def login_required(view: Callable[P, R]) -> Callable[P, R]:
    """The view needs a signed-in session: pages go to sign-in, APIs get 401."""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        _require_session()
        return view(*args, **kwargs)

    return wrapper


def bearer_required(view: Callable[P, R]) -> Callable[P, R]:
    """The view needs `Authorization: Bearer <access token>` (or an accepted API key)."""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        _require_bearer()
        return view(*args, **kwargs)

    return wrapper


def permission_required(permission: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """The view needs `permission` (a slug such as `posts:write`); 403 without it."""

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if permission not in _principal().permissions:
                raise PermissionDenied(f"this needs the permission {permission!r}")
            return view(*args, **kwargs)

        return wrapper

    return decorator


def role_required(role: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """The view needs the organization role `role` (its slug); 403 without it."""

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            principal = _principal()
            if role != principal.role and role not in principal.roles:
                raise PermissionDenied(f"this needs the role {role!r}")
            return view(*args, **kwargs)

        return wrapper

    return decorator


def _require_session() -> AuthSession:
    session = get_session()
    if session is None:
        result = request_auth().result
        reason = (result.reason if result else None) or "no_session_cookie"
        raise AuthenticationRequired(reason, _MESSAGES.get(reason, "sign in first"))
    return session


def _require_bearer() -> Principal:
    auth = request_auth()
    if auth.bearer is None:
        authorization = request.headers.get("Authorization")
        auth.bearer = app_auth().authkit.authenticate_bearer(authorization)
    return auth.bearer


def _principal() -> Principal:
    return _require_bearer() if "Authorization" in request.headers else _require_session()


def _load_session() -> None:
    """Verify (and when due refresh) the session before the view, except for the sign-in
    routes, which read the cookies themselves, and static files."""
    state = app_auth()
    if request.blueprint == state.blueprint_name or request.endpoint == "static":
        return
    get_session()


def _set_cookies(response: Response) -> Response:
    for cookie in request_auth().cookies.values():
        response.headers.add("Set-Cookie", cookie.header())
    return response


def _refusal(error: AuthKitError | VerifierError) -> Response:
    state = app_auth()
    if (
        isinstance(error, AuthenticationRequired)
        and request.method in ("GET", "HEAD")
        and not is_api_request(request, state.api_path_prefixes)
    ):
        sign_in = state.authkit.sign_in(return_to=request_path(request), cookies=request.cookies)
        auth = request_auth()
        for cookie in sign_in.cookies:
            auth.set_cookie(cookie)
        return redirect(sign_in.url)
    return error_response(request, error, state.api_path_prefixes)


def _environ(app: Flask) -> dict[str, str]:
    """The environment, overlaid with the app's `WORKOS_*` config keys."""
    environ = dict(os.environ)
    for key, value in app.config.items():
        if key.startswith(_CONFIG_PREFIXES) and value is not None:
            environ[key] = str(value)
    return environ
