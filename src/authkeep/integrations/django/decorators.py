"""Guards for views: decorators for functions, mixins for class-based views.

    @login_required
    def dashboard(request): ...                       # request.user is an AuthKitUser

    @permission_required("posts:write")
    def create_post(request): ...

    class Reports(PermissionRequiredMixin, View):
        permission_required = "reports:read"

Without a session a page (GET) is redirected to sign-in and comes back to the same path; an API
request gets 401 JSON. A request with an `Authorization` header is judged by its bearer
credential instead (an access token, or an API key when accepted). A missing permission or role
is 403. The middleware (`AuthKitMiddleware`) turns the refusals into responses.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.http import HttpRequest, HttpResponse

from authkeep.integrations.django.conf import get_authkit
from authkeep.integrations.django.middleware import request_auth
from authkeep.integrations.django.users import AuthKitUser
from authkeep.integrations.errors import PermissionDenied

__all__ = [
    "LoginRequiredMixin",
    "PermissionRequiredMixin",
    "RoleRequiredMixin",
    "login_required",
    "permission_required",
    "require_user",
    "role_required",
]

View = TypeVar("View", bound=Callable[..., HttpResponse])


def require_user(request: HttpRequest) -> AuthKitUser:
    """Who the request acts for: its bearer credential when it has an `Authorization` header
    (the user is then `request.user` too), else its session; else `AuthenticationRequired`."""
    if "authorization" in request.headers:
        claims = get_authkit().authenticate_bearer(request.headers.get("authorization"))
        user = AuthKitUser.from_principal(claims)
        request.user = user  # type: ignore[attr-defined]
        return user
    return AuthKitUser.from_principal(request_auth(request).require_session())


def check_permissions(user: AuthKitUser, permissions: Iterable[str]) -> None:
    for permission in permissions:
        if not user.has_perm(permission):
            raise PermissionDenied(f"this needs the permission {permission!r}")


def check_role(user: AuthKitUser, role: str) -> None:
    if not user.has_role(role):
        raise PermissionDenied(f"this needs the role {role!r}")


def login_required(view: View) -> View:
    """The view runs only for a signed-in user."""

    @functools.wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        require_user(request)
        return view(request, *args, **kwargs)

    return guarded  # type: ignore[return-value]


def permission_required(*permissions: str) -> Callable[[View], View]:
    """The view runs only when the access token grants every one of `permissions`."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            check_permissions(require_user(request), permissions)
            return view(request, *args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate


def role_required(role: str) -> Callable[[View], View]:
    """The view runs only for the organization role `role` (its slug)."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            check_role(require_user(request), role)
            return view(request, *args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate


class LoginRequiredMixin:
    """First base of a class-based view that needs a signed-in user."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.check_user(require_user(request))
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc, no-any-return]

    def check_user(self, user: AuthKitUser) -> None:
        """Refuse (raise `PermissionDenied`) a signed-in user; subclasses add checks."""


class PermissionRequiredMixin(LoginRequiredMixin):
    """`permission_required`: one permission slug or several, all needed."""

    permission_required: str | Iterable[str] = ()

    def check_user(self, user: AuthKitUser) -> None:
        wanted = self.permission_required
        check_permissions(user, (wanted,) if isinstance(wanted, str) else wanted)


class RoleRequiredMixin(LoginRequiredMixin):
    """`role_required`: the organization role slug the view needs."""

    role_required = ""

    def check_user(self, user: AuthKitUser) -> None:
        check_role(user, self.role_required)
