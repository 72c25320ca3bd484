"""The audit trail: every operator action, with who, when, what, the target and the outcome."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet

from conferences.core import inputs
from conferences.models import AuditEntry, Conference, DialRequest, User

logger = logging.getLogger(__name__)


class AuditAction:
    """Names used in AuditEntry.action (one place, so filters and tests agree)."""

    DIAL = "dial"
    BULK_DIAL = "bulk-dial"
    CANCEL = "cancel"
    MUTE = "mute"
    UNMUTE = "unmute"
    HOLD = "hold"
    RESUME = "resume"
    COACH = "coach"
    STOP_COACHING = "stop-coaching"
    MODIFY = "modify"
    REMOVE = "remove"
    ANNOUNCE = "announce"
    END_CONFERENCE = "end-conference"
    RECONCILE = "reconcile"
    EXPORT = "export"
    LISTEN_RECORDING = "listen-recording"
    PURGE = "purge"
    WEBHOOK_SELF_TEST = "webhook-self-test"
    ADD_OPERATOR = "add-operator"
    REMOVE_OPERATOR = "remove-operator"
    PLAN_EVENT = "plan-event"
    EDIT_EVENT = "edit-event"
    CANCEL_EVENT = "cancel-event"
    EVENT_DIAL_OUT = "event-dial-out"
    ROLE_SETTINGS = "role-settings"
    LECTURE_MODE = "lecture-mode"
    GIVE_FLOOR = "give-floor"
    MONITOR = "monitor"

    @classmethod
    def names(cls) -> list[str]:
        """Every action name, for filters."""
        return sorted(
            value for key, value in vars(cls).items() if key.isupper() and isinstance(value, str)
        )


def record(
    action: str,
    *,
    actor: User | AnonymousUser | None,
    dial: DialRequest | None = None,
    conference: Conference | None = None,
    target_type: str = "",
    target_id: str | int = "",
    outcome: str = "ok",
    detail: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry. `detail` must hold no secrets (it is shown to supervisors)."""
    if dial is not None and conference is None:
        conference = dial.conference
    if dial is not None and not target_type:
        target_type, target_id = "dial", dial.pk
    elif conference is not None and not target_type:
        target_type, target_id = "conference", conference.pk
    entry = AuditEntry.objects.create(
        actor=actor if isinstance(actor, User) else None,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        dial=dial,
        conference=conference,
        outcome=outcome,
        detail=dict(detail or {}),
    )
    logger.info("audit: %s %s %s#%s %s", entry.actor, action, target_type, target_id, outcome)
    return entry


# --- Reading the trail (issue 12: the supervisors' /ops/audit/ page) -------------------


@dataclass(frozen=True)
class AuditFilters:
    """What a supervisor narrows the trail to; empty values leave a filter out."""

    actor_id: int | None = None
    conference: str = ""  # a conference id, or part of its name
    action: str = ""
    date_from: date | None = None  # inclusive, in `zone`
    date_to: date | None = None  # inclusive, in `zone`


def filtered_entries(filters: AuditFilters, *, zone: tzinfo) -> QuerySet[AuditEntry]:
    """Entries matching the filters, newest first, with what the page shows joined in."""
    entries = AuditEntry.objects.select_related("actor", "dial", "conference").order_by(
        "-at", "-pk"
    )
    if filters.actor_id is not None:
        entries = entries.filter(actor_id=filters.actor_id)
    if filters.action:
        entries = entries.filter(action=filters.action)
    conference = filters.conference.strip()
    conference_id = inputs.whole_number(conference)
    if conference_id is not None:
        entries = entries.filter(conference_id=conference_id)
    elif conference:
        entries = entries.filter(conference__friendly_name__icontains=conference)
    if filters.date_from is not None:
        entries = entries.filter(at__gte=datetime.combine(filters.date_from, time.min, zone))
    if filters.date_to is not None:
        next_day = filters.date_to + timedelta(days=1)
        entries = entries.filter(at__lt=datetime.combine(next_day, time.min, zone))
    return entries


def actors() -> QuerySet[User]:
    """People who appear in the trail, for the filter's choices."""
    return User.objects.filter(audit_entries__isnull=False).distinct().order_by("username")
