from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path

from conferences.accounts.sign_in import SignInForm
from conferences.api.api import urlpatterns as api_v1_urls
from conferences.operations import healthz as health

urlpatterns: list[URLPattern | URLResolver] = [
    path("", include("conferences.urls")),
    path("webhooks/", include("conferences.callbacks.urls")),
    path("api/v1/", api_v1_urls()),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(authentication_form=SignInForm),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", health.liveness, name="healthz"),
    path("healthz/detail", health.detail, name="healthz-detail"),
    path("admin/", admin.site.urls),
]
