from __future__ import annotations

from django.urls import include, path

from shop import views

urlpatterns = [
    path("auth/", include("authkeep.integrations.django.urls")),
    path("", views.home, name="home"),
    path("account", views.account, name="account"),
    path("api/orders", views.Orders.as_view()),
]
