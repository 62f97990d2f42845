"""The views of the Django test app (tests.integrations.django_app): pages and APIs guarded by
authkeep.integrations.django, DRF views with its bearer authentication, and for the user-model
sites an account page from the model instance and the `update_user` hook."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.urls import include, path
from django.views import View
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from authkeep.integrations import ApiKey, AuthSession
from authkeep.integrations.django import (
    PermissionRequiredMixin,
    login_required,
    permission_required,
    role_required,
)
from authkeep.integrations.django.drf import HasPermission, IsAuthKitAuthenticated


def home(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"signed_in": request.user.is_authenticated})


@login_required
def me(request: HttpRequest) -> HttpResponse:
    user = request.user
    return HttpResponse(f"<p>Hello {user.email} in {user.organization_id}</p>")  # type: ignore[union-attr]


@login_required
def api_me(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    session: Any = request.auth_session  # type: ignore[attr-defined]
    return JsonResponse(
        {
            "user_id": user.id,
            "email": user.email,
            "name": user.get_full_name(),
            "session_id": session.session_id,
            "organization_id": user.organization_id,
            "role": user.role,
            "permissions": list(user.permissions),
            "jti": session.claims.raw["jti"],
        }
    )


@permission_required("posts:write")
def reports(request: HttpRequest) -> HttpResponse:
    return HttpResponse("<p>reports</p>")


@role_required("admin")
def admin(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"<p>admin {request.user.id}</p>")  # type: ignore[union-attr]


class Drafts(PermissionRequiredMixin, View):
    permission_required = "posts:write"

    def get(self, request: HttpRequest) -> HttpResponse:
        return JsonResponse({"drafts": []})


def csrf(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"token": get_token(request)})


@login_required
def account(request: HttpRequest) -> HttpResponse:
    """The logged-in row of the user model (user-model sites)."""
    user: Any = request.user
    return JsonResponse(
        {
            "model": user._meta.label,
            "pk": user.pk,
            "username": user.username,
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "usable_password": user.has_usable_password(),
            "is_staff": user.is_staff,
            "groups": sorted(group.name for group in user.groups.all()),
            "authkeep_user_id": user.authkit_identity.authkeep_user_id,
            "django_session": request.session.session_key,  # type: ignore[attr-defined]
        }
    )


def update_user(user: Any, session: AuthSession, created: bool) -> None:
    """The test app's `AUTHKEEP["update_user"]`: admins are staff, the role is a group."""
    from django.contrib.auth.models import Group

    user.is_staff = session.role == "admin"
    user.save(update_fields=["is_staff"])
    groups = [Group.objects.get_or_create(name=f"role:{session.role}")[0]] if session.role else []
    user.groups.set(groups)


class Account(APIView):
    permission_classes = [HasPermission.of("posts:write")]

    def get(self, request: Request) -> Response:
        user: Any = request.user
        return Response(
            {"model": user._meta.label, "pk": user.pk, "auth": type(request.auth).__name__}
        )


class Bearer(APIView):
    permission_classes = [IsAuthKitAuthenticated]

    def get(self, request: Request) -> Response:
        if isinstance(request.auth, ApiKey):
            return Response(
                {"api_key": request.auth.id, "organization_id": request.auth.organization_id}
            )
        return Response(
            {"user_id": request.user.id, "organization_id": request.user.organization_id}
        )


class Posts(APIView):
    permission_classes = [HasPermission.of("posts:write")]

    def post(self, request: Request) -> Response:
        return Response({"created_by": request.user.id})


urlpatterns = [
    path("auth/", include("authkeep.integrations.django.urls")),
    path("", home),
    path("me", me),
    path("api/me", api_me),
    path("reports", reports),
    path("admin", admin),
    path("drafts", Drafts.as_view()),
    path("csrf", csrf),
    path("api/bearer", Bearer.as_view()),
    path("api/posts", Posts.as_view()),
    path("account", account),
    path("api/account", Account.as_view()),
]
