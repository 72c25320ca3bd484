"""Routes of the live conference pages (issue 11)."""

from __future__ import annotations

from django.urls import URLPattern, path

from conferences.live import invite_views
from conferences.live import views as live_views

urlpatterns: list[URLPattern] = [
    path("conferences/", live_views.conference_list, name="conference-list"),
    path("conferences/plan/", live_views.conference_plan, name="conference-plan"),
    path("conferences/<int:pk>/", live_views.conference_detail, name="conference-detail"),
    path("conferences/<int:pk>/roster/", live_views.conference_roster, name="conference-roster"),
    path(
        "conferences/<int:pk>/invitees/",
        live_views.conference_invitees,
        name="conference-invitees",
    ),
    path(
        "conferences/<int:pk>/participants/<str:call_sid>/",
        live_views.participant_action,
        name="participant-action",
    ),
    path(
        "conferences/<int:pk>/participants/<str:call_sid>/<str:step>/",
        live_views.participant_step,
        name="participant-step",
    ),
    path(
        "conferences/<int:pk>/announce/",
        live_views.conference_announce,
        name="conference-announce",
    ),
    path("conferences/<int:pk>/end/", live_views.conference_end, name="conference-end"),
    path(
        "conferences/<int:pk>/callers/",
        live_views.conference_add_caller,
        name="conference-add-caller",
    ),
    path(
        "conferences/<int:pk>/settings/",
        live_views.conference_settings,
        name="conference-settings",
    ),
    path(
        "conferences/<int:pk>/invitees/import/",
        invite_views.invitees_import,
        name="invitees-import",
    ),
    path(
        "conferences/<int:pk>/invitees/<int:invitee_id>/dial/",
        invite_views.invitee_dial,
        name="invitee-dial",
    ),
    path(
        "conferences/<int:pk>/invitees/<int:invitee_id>/remove/",
        invite_views.invitee_remove,
        name="invitee-remove",
    ),
    path(
        "conferences/<int:pk>/dial-all/",
        invite_views.conference_dial_all,
        name="conference-dial-all",
    ),
    path(
        "conferences/<int:pk>/runs/<int:run_id>/cancel/",
        invite_views.bulk_run_cancel,
        name="bulk-run-cancel",
    ),
    path(
        "conferences/<int:pk>/operators/",
        live_views.conference_operator_add,
        name="conference-operator-add",
    ),
    path(
        "conferences/<int:pk>/operators/<int:user_id>/remove/",
        live_views.conference_operator_remove,
        name="conference-operator-remove",
    ),
]
