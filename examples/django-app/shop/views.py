"""A public home page, a page for signed-in people, and an API for bearer tokens."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from authkeep.integrations.django import login_required
from authkeep.integrations.django.drf import IsAuthKitAuthenticated


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "shop/home.html")


@login_required
def account(request: HttpRequest) -> HttpResponse:
    session = request.auth_session  # type: ignore[attr-defined]
    return render(request, "shop/account.html", {"session": session})


class Orders(APIView):
    """`curl -H "Authorization: Bearer $TOKEN" localhost:8000/api/orders`"""

    permission_classes = [IsAuthKitAuthenticated]

    def get(self, request: Request) -> Response:
        return Response(
            {
                "user_id": request.user.id,
                "organization_id": request.user.organization_id,
                "orders": [],
            }
        )
