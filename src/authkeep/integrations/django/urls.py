"""The sign-in routes: `path("auth/", include("authkeep.integrations.django.urls"))`.

Register `<app>/auth/callback` as the redirect URI. Route names (namespace `authkeep`):
`authkeep:login`, `authkeep:sign-up`, `authkeep:callback`, `authkeep:logout`,
`authkeep:switch-organization`.
"""

from __future__ import annotations

from django.urls import URLPattern, path

from authkeep.integrations.django import views

__all__ = ["app_name", "urlpatterns"]

app_name = "authkeep"

urlpatterns: list[URLPattern] = [
    path("login", views.login, name="login"),
    path("sign-up", views.sign_up, name="sign-up"),
    path("callback", views.callback, name="callback"),
    path("logout", views.logout, name="logout"),
    path("switch-organization", views.switch_organization, name="switch-organization"),
]
