"""Django: a middleware, `request.user` without auth tables, guards, sign-in routes, and DRF.

    # settings.py
    AUTHKEEP = {"api_key_validator": False}  # else the WORKOS_* settings or variables
    MIDDLEWARE = [
        "django.middleware.csrf.CsrfViewMiddleware",
        "authkeep.integrations.django.AuthKitMiddleware",
    ]

    # urls.py
    urlpatterns = [path("auth/", include("authkeep.integrations.django.urls")), ...]

    # views.py
    from authkeep.integrations.django import login_required

    @login_required
    def dashboard(request):
        return HttpResponse(f"Hello {request.user.email} ({request.user.role})")

`AuthKitMiddleware` loads the sealed session cookie on each request, refreshes the access token
when it is due and rewrites the cookie on the response; `request.auth_session` is the
`AuthSession` (or None) and `request.user` an `AuthKitUser` (or `AnonymousUser`). Guards:
`login_required`, `permission_required`, `role_required`, `LoginRequiredMixin`,
`PermissionRequiredMixin`, `RoleRequiredMixin`: pages without a session are sent to sign-in and
back, API requests get 401 JSON, a missing permission 403. DRF classes are in
`authkeep.integrations.django.drf`. `get_authkit()` is the process's `AuthKit`.

For `request.user` as a row of the project's user model (`django.contrib.auth`), list
`authkeep.integrations.django.backends.AuthKitBackend` in `AUTHENTICATION_BACKENDS`, install this
package as an app and put Django's `SessionMiddleware` first: see `backends` and `accounts`.
"""

from __future__ import annotations

from authkeep.integrations.django.conf import get_authkit
from authkeep.integrations.django.decorators import (
    LoginRequiredMixin,
    PermissionRequiredMixin,
    RoleRequiredMixin,
    login_required,
    permission_required,
    require_user,
    role_required,
)
from authkeep.integrations.django.middleware import AuthKitMiddleware, RequestAuth, request_auth
from authkeep.integrations.django.users import AnonymousUser, AuthKitUser

__all__ = [
    "AnonymousUser",
    "AuthKitMiddleware",
    "AuthKitUser",
    "LoginRequiredMixin",
    "PermissionRequiredMixin",
    "RequestAuth",
    "RoleRequiredMixin",
    "get_authkit",
    "login_required",
    "permission_required",
    "request_auth",
    "require_user",
    "role_required",
]
