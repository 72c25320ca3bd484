"""Routes of the supervisor history pages (issue 9)."""

from __future__ import annotations

from django.urls import URLPattern, path

from conferences import views

urlpatterns: list[URLPattern] = [
    path("history/", views.history, name="history"),
]
