from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path

from conferences.operations import healthz as health

urlpatterns: list[URLPattern | URLResolver] = [
    path("", include("conferences.urls")),
    path("webhooks/", include("conferences.callbacks.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", health.liveness, name="healthz"),
    path("healthz/detail", health.detail, name="healthz-detail"),
    path("admin/", admin.site.urls),
]
