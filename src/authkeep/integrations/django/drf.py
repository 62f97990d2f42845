"""Django REST framework: bearer authentication and permission classes.

    REST_FRAMEWORK = {
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "authkeep.integrations.django.drf.AuthKitBearerAuthentication",
            "authkeep.integrations.django.drf.AuthKitSessionAuthentication",  # browsers too
        ],
        "UNAUTHENTICATED_USER": "authkeep.integrations.django.AnonymousUser",
    }

    class Posts(APIView):
        permission_classes = [HasPermission.of("posts:write")]

`AuthKitBearerAuthentication` verifies `Authorization: Bearer <access token>` locally (and API
keys when `AUTHKEEP["api_key_validator"]` accepts them); `request.user` is an `AuthKitUser`,
`request.auth` the `AccessTokenClaims` or `ApiKey`. A refused credential is 401 with
`{"code", "message"}` and `WWW-Authenticate: Bearer error="invalid_token", error_description=...`
naming the problem (expired, forged, another client's). `IsAuthKitAuthenticated` answers a
request without credentials the same way; `HasPermission.of(...)` adds 403 for a missing
permission. With `AuthKitBackend` (the user-model mode) `AuthKitSessionAuthentication` gives the
logged-in model instance as `request.user` and the `AuthSession` as `request.auth`; permissions
and roles are always judged from the session or token, not from Django's permission tables.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, CSRFCheck
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from authkeep.integrations.bearer import bearer_credential, www_authenticate
from authkeep.integrations.django.conf import get_authkit, integration_settings
from authkeep.integrations.django.middleware import request_auth
from authkeep.integrations.django.users import AuthKitUser
from authkeep.integrations.errors import AuthenticationRequired, PermissionDenied
from authkeep.integrations.flows import Principal

__all__ = [
    "AuthKitBearerAuthentication",
    "AuthKitSessionAuthentication",
    "HasPermission",
    "HasRole",
    "IsAuthKitAuthenticated",
]

_REFUSAL = "_authkeep_refusal"


class NotAuthenticated(exceptions.AuthenticationFailed):
    """A 401 whose body is the WorkOS shape, `{"code": ..., "message": ...}`."""

    def __init__(self, refusal: AuthenticationRequired) -> None:
        super().__init__({"code": refusal.code, "message": str(refusal)})
        self.status_code = refusal.status


class Forbidden(exceptions.PermissionDenied):
    """A 403 in the WorkOS shape; a bearer caller is told `insufficient_scope` too."""

    def __init__(self, refusal: PermissionDenied, request: Request) -> None:
        super().__init__({"code": refusal.code, "message": str(refusal)})
        if "authorization" in request.headers:
            self.auth_header = www_authenticate(refusal)


class AuthKitBearerAuthentication(BaseAuthentication):
    """`Authorization: Bearer <access token or API key>`; None (try the next class) without."""

    def authenticate(self, request: Request) -> tuple[AuthKitUser, Any] | None:
        header = request.headers.get("authorization")
        if not header:
            return None
        try:
            principal = get_authkit().authenticate_bearer(header)
        except AuthenticationRequired as refusal:
            setattr(request, _REFUSAL, refusal)
            raise NotAuthenticated(refusal) from refusal
        return AuthKitUser.from_principal(principal), principal

    def authenticate_header(self, request: Request) -> str:
        refusal = getattr(request, _REFUSAL, None)
        if not isinstance(refusal, AuthenticationRequired):
            try:
                bearer_credential(None)
            except AuthenticationRequired as missing:
                refusal = missing
        assert refusal is not None
        return www_authenticate(refusal)


class IsAuthKitAuthenticated(BasePermission):
    """Someone is signed in (a bearer credential, or the session's `request.user`); else 401."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not getattr(request.user, "is_authenticated", False):
            try:
                bearer_credential(None)
            except AuthenticationRequired as missing:
                raise NotAuthenticated(missing) from None
        return True


class HasPermission(IsAuthKitAuthenticated):
    """`permission_classes = [HasPermission.of("posts:write")]`: 403 without the permission."""

    permissions: tuple[str, ...] = ()

    @classmethod
    def of(cls, *permissions: str) -> type[HasPermission]:
        return type("HasPermission", (cls,), {"permissions": permissions})

    def has_permission(self, request: Request, view: Any) -> bool:
        super().has_permission(request, view)
        for permission in self.permissions:
            if not authkit_user(request).has_perm(permission):
                refusal = PermissionDenied(f"this needs the permission {permission!r}")
                raise Forbidden(refusal, request)
        return True


class HasRole(IsAuthKitAuthenticated):
    """`permission_classes = [HasRole.of("admin")]`: 403 without the organization role."""

    role = ""

    @classmethod
    def of(cls, role: str) -> type[HasRole]:
        return type("HasRole", (cls,), {"role": role})

    def has_permission(self, request: Request, view: Any) -> bool:
        super().has_permission(request, view)
        if not authkit_user(request).has_role(self.role):
            raise Forbidden(PermissionDenied(f"this needs the role {self.role!r}"), request)
        return True


class AuthKitSessionAuthentication(BaseAuthentication):
    """The browser's session (loaded by `AuthKitMiddleware`) for DRF views, with Django's CSRF
    check on unsafe methods as DRF's `SessionAuthentication` does."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        session = getattr(request._request, "auth_session", None)
        if session is None:
            return None
        check = CSRFCheck(lambda _: HttpResponse())
        check.process_request(request._request)
        reason = check.process_view(request._request, None, (), {})
        if reason is not None:
            raise exceptions.PermissionDenied(
                {"code": "csrf_failed", "message": "CSRF check failed: send the X-CSRFToken header"}
            )
        if not integration_settings().user_model:
            return AuthKitUser.from_principal(session), session
        if request_auth(request._request).refused:
            refusal = PermissionDenied("this account is disabled in this application")
            raise Forbidden(refusal, request)
        return request._request.user, session


def authkit_user(request: Request) -> Any:
    """Whom permissions and roles are judged for: the session's or credential's `AuthKitUser`
    (`request.user` may be a model instance in the user-model mode)."""
    if isinstance(request.auth, Principal):
        return AuthKitUser.from_principal(request.auth)
    return request.user
