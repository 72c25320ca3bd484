"""Routes of the supervisor history pages (issue 9)."""

from __future__ import annotations

from django.urls import URLPattern, path

from conferences.history import views as history_views

urlpatterns: list[URLPattern] = [
    path("history/", history_views.history, name="history"),
    path("history/live/", history_views.history_live, name="history-live"),
    path("history/export.csv", history_views.history_export, name="history-export"),
    path("history/overview/", history_views.history_overview, name="history-overview"),
    path("history/<int:dial_id>/", history_views.history_detail, name="history-detail"),
    path(
        "history/<int:dial_id>/recording.mp3",
        history_views.history_recording,
        name="history-recording",
    ),
]
