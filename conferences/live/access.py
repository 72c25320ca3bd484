"""Which conferences a user sees and may act on, and the conference list."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.paginator import Page, Paginator
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce

from conferences.accounts import conference_access, roles
from conferences.live.attendance import LIVE_DIAL_STATUSES
from conferences.models import (
    Conference,
    ConferenceControls,
    ConferenceStatus,
    User,
)

logger = logging.getLogger(__name__)

Viewer = User | AnonymousUser


def live_timeout() -> float:
    """Roster reads and live actions wait less for Twilio than a worker does."""
    return min(float(settings.TWILIO_HTTP_TIMEOUT_SECONDS), 8.0)


# --- Who sees and acts on which conference --------------------------------------------


def visible_conferences(user: Viewer) -> QuerySet[Conference]:
    """Supervisors see every conference; operators those they run (conference_access)."""
    if not roles.user_can(user, "view_own_calls"):
        return Conference.objects.none()
    return conference_access.usable_conferences(user).select_related("account", "created_by")


def can_act(user: Viewer, conference: Conference) -> bool:
    """Act on participants, announce, change settings: whoever may use the conference."""
    return conference_access.may_use(user, conference)


def can_add_operators(user: Viewer) -> bool:
    return roles.user_can(user, "add_conference_operators")


def can_end(user: Viewer, conference: Conference) -> bool:
    return roles.user_can(user, "end_conference") and can_act(user, conference)


def can_bulk_dial(user: Viewer, conference: Conference) -> bool:
    return roles.user_can(user, "bulk_dial") and can_act(user, conference)


def can_dial_invitee(user: Viewer, conference: Conference) -> bool:
    return roles.user_can(user, "dial") and can_act(user, conference)


def controls_for(conference: Conference) -> ConferenceControls:
    """The conference's live settings; defaults (unsaved) when nobody changed them."""
    found = ConferenceControls.objects.filter(conference=conference).first()
    return found or ConferenceControls(conference=conference)


def hold_music_url(controls: ConferenceControls) -> str:
    return controls.hold_music_url or str(settings.HOLD_MUSIC_URL)


# --- The conference list --------------------------------------------------------------


@dataclass(frozen=True)
class ConferenceListing:
    live: Sequence[Conference]
    ended: Page[Any]


def conference_list(user: Viewer, *, page_number: str | int | None = None) -> ConferenceListing:
    """Live conferences first (all of them), then ended ones, newest first, paged."""
    live_dial = Q(dials__status__in=LIVE_DIAL_STATUSES, dials__left_at__isnull=True)
    conferences = visible_conferences(user).annotate(
        participants_now=Count("dials", filter=live_dial, distinct=True),
        dial_total=Count("dials", distinct=True),
        invitee_total=Count("invitees", distinct=True),
        ended_rank=Case(
            When(status=ConferenceStatus.COMPLETED, then=Value(1)),
            default=Value(0),
            output_field=IntegerField(),
        ),
    )
    live = list(conferences.filter(ended_rank=0).order_by("-created_at", "-pk")[:200])
    ended = conferences.filter(ended_rank=1).order_by(
        Coalesce("ended_at", "created_at").desc(), "-pk"
    )
    return ConferenceListing(live=live, ended=Paginator(ended, 25).get_page(page_number or 1))
