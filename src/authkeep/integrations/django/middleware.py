"""`AuthKitMiddleware`: loads the sealed session, refreshes it when due, and writes the cookies.

    MIDDLEWARE = [
        "django.middleware.security.SecurityMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "authkeep.integrations.django.AuthKitMiddleware",  # instead of AuthenticationMiddleware
    ]

Each request gets `request.auth_session` (an `AuthSession` or None) and `request.user` (an
`AuthKitUser` or `AnonymousUser`). A refreshed session's cookie (or a cleared one) goes out on
the response. With `AuthKitBackend` (the user-model mode, see `accounts`) `request.user` is
instead a row of the user model, logged in and out of Django's session with the cookie. The
library's errors raised by a view become responses: `AuthenticationRequired`
on a page (GET) redirects to sign-in and back; on an API request (a path under `/api/`, an
`Authorization` header, or JSON but not HTML accepted) it is 401 `{"code", "message"}` with
`WWW-Authenticate: Bearer error=...`; `PermissionDenied` is 403; an unreachable identity
server 502/503.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from authkeep.integrations.django.conf import integration_settings
from authkeep.integrations.django.responses import error_response, is_api_request, redirect
from authkeep.integrations.django.users import AnonymousUser, AuthKitUser
from authkeep.integrations.errors import (
    AuthenticationRequired,
    AuthKitError,
    PermissionDenied,
    VerifierError,
)
from authkeep.integrations.session import AuthSession, Cookie, SessionResult

__all__ = ["AuthKitMiddleware", "RequestAuth", "request_auth"]

REQUEST_KEY = "authkeep"
MESSAGES = {
    "no_session_cookie": "sign in first: this request has no session",
    "invalid_session_cookie": "the session cookie is not valid here; sign in again",
    "user_mismatch": "the session cookie does not match its access token; sign in again",
    "refresh_failed": "the session has ended (its refresh was refused); sign in again",
    "refresh_unavailable": "the session cannot be renewed right now; try again shortly",
}


class RequestAuth:
    """One request's authentication state: the session result and the cookies to write."""

    def __init__(self) -> None:
        self.cookies: dict[str, Cookie] = {}
        self.result = SessionResult(None, reason="no_session_cookie")
        self.error: VerifierError | None = None
        self.refused = False

    def set_cookie(self, cookie: Cookie) -> None:
        """Queue a cookie for the response; a later one of the same name replaces it."""
        self.cookies[cookie.name] = cookie

    def use(self, request: HttpRequest, result: SessionResult) -> None:
        """Make `result` the request's session (after loading, sign-in, refresh or sign-out)."""
        self.result = result
        for cookie in result.cookies:
            self.set_cookie(cookie)
        session = result.session
        request.auth_session = session  # type: ignore[attr-defined]
        if integration_settings().user_model:
            from authkeep.integrations.django.accounts import sync_login

            self.refused = not sync_login(request, result)
            return
        user = AuthKitUser.from_principal(session) if session else AnonymousUser()
        request.user = user  # type: ignore[assignment]

    def require_session(self) -> AuthSession:
        """The session; else `AuthenticationRequired` (or the key-fetch error that hid it)."""
        if self.error is not None:
            raise self.error
        if self.result.session is None:
            reason = self.result.reason or "no_session_cookie"
            raise AuthenticationRequired(reason, MESSAGES.get(reason, "sign in first"))
        if self.refused:
            raise PermissionDenied("this account is disabled in this application")
        return self.result.session


def request_auth(request: HttpRequest) -> RequestAuth:
    """The request's `RequestAuth`; a clear error when the middleware is missing."""
    auth = getattr(request, REQUEST_KEY, None)
    if not isinstance(auth, RequestAuth):
        raise RuntimeError(
            "add 'authkeep.integrations.django.AuthKitMiddleware' to settings.MIDDLEWARE"
        )
    return auth


class AuthKitMiddleware:
    """Django middleware (sync): see the module's documentation."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        auth = RequestAuth()
        setattr(request, REQUEST_KEY, auth)
        try:
            result = integration_settings().authkit.load_session(request.COOKIES)
        except (
            VerifierError
        ) as error:  # the keys cannot be fetched: only routes needing a user fail
            auth.error = error
            result = SessionResult(None, reason="jwks_unavailable")
        auth.use(request, result)
        response = self.get_response(request)
        for cookie in auth.cookies.values():
            response.set_cookie(
                cookie.name,
                cookie.value,
                max_age=cookie.max_age,
                path=cookie.path,
                domain=cookie.domain,
                secure=cookie.secure,
                httponly=cookie.http_only,
                samesite=cookie.same_site.capitalize(),
            )
        if auth.cookies:
            response.setdefault("Cache-Control", "no-store")
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, AuthKitError | VerifierError):
            return None
        auth = request_auth(request)
        options = integration_settings()
        api = is_api_request(request, options.api_path_prefixes)
        if (
            isinstance(exception, AuthenticationRequired)
            and exception.status == 401
            and request.method in ("GET", "HEAD")
            and not api
        ):
            sign_in = options.authkit.sign_in(
                return_to=request.get_full_path(), cookies=request.COOKIES
            )
            for cookie in sign_in.cookies:
                auth.set_cookie(cookie)
            return redirect(sign_in.url)
        return error_response(request, exception, api)
