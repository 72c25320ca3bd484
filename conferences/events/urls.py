"""Routes of the scheduled conference pages (issue 21)."""

from __future__ import annotations

from django.urls import URLPattern, path

from conferences.events import views as event_views

urlpatterns: list[URLPattern] = [
    path("conferences/events/", event_views.event_list, name="event-list"),
    path("conferences/events/plan/", event_views.event_plan, name="event-plan"),
    path("conferences/events/<int:pk>/", event_views.event_detail, name="event-detail"),
    path("conferences/events/<int:pk>/cancel/", event_views.event_cancel, name="event-cancel"),
    path("conferences/events/<int:pk>/console/", event_views.event_console, name="event-console"),
    path("conferences/events/<int:pk>/lecture/", event_views.event_lecture, name="event-lecture"),
    path(
        "conferences/events/<int:pk>/floor/<str:call_sid>/",
        event_views.event_floor,
        name="event-floor",
    ),
    path(
        "conferences/events/<int:pk>/roles/<str:role>/",
        event_views.event_role_settings,
        name="event-role-settings",
    ),
    path("conferences/events/my-phone/", event_views.own_phone, name="own-phone"),
    path(
        "conferences/events/monitor/<int:pk>/",
        event_views.conference_monitor,
        name="conference-monitor",
    ),
    path(
        "conferences/events/summary/<int:pk>/",
        event_views.conference_summary,
        name="conference-summary",
    ),
    path(
        "conferences/events/summary/<int:pk>/attendance.csv",
        event_views.attendance_export,
        name="attendance-export",
    ),
]
