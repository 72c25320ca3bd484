"""Routes of the live conference pages (issue 11)."""

from __future__ import annotations

from django.urls import URLPattern, path

from conferences import views

urlpatterns: list[URLPattern] = [
    path("conferences/", views.conference_list, name="conference-list"),
]
