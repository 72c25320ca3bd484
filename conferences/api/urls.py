"""Routes of the API tokens page (the API itself is mounted at /api/v1/ by dashboard.urls)."""

from __future__ import annotations

from django.urls import URLPattern, path

from conferences.api import views

# Included by conferences/urls.py into the "conferences" namespace.
urlpatterns: list[URLPattern] = [
    path("account/api-tokens/", views.api_tokens, name="api-tokens"),
    path("account/api-tokens/new/", views.api_token_create, name="api-token-create"),
    path(
        "account/api-tokens/<int:token_id>/revoke/",
        views.api_token_revoke,
        name="api-token-revoke",
    ),
]
