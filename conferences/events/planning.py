"""Planning a scheduled conference: its name, start, lead time, caller ID and invite list by
role; editing or cancelling it until its dial-out begins.

Every change that must not cross the dial-out is a conditional UPDATE on the event's status
(`scheduled`), the same row the dial-out claims, so an edit or a cancel and the dial-out
never both win."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from conferences.accounts import roles, twilio_accounts
from conferences.audit import trail as audit
from conferences.audit.trail import AuditAction
from conferences.live import access as live_access
from conferences.live import actions as live_actions
from conferences.live import invite_import, invite_list
from conferences.live.actions import LiveActionRefused
from conferences.models import (
    ROLE_DEFAULTS,
    ROLE_ORDER,
    Conference,
    EventStatus,
    RoleSettings,
    ScheduledConference,
    User,
)

logger = logging.getLogger(__name__)

# The invite list is typed per role: a text for hosts, one for speakers, one for listeners.
RoleLists = Mapping[str, str]


class EventRefused(Exception):
    """The plan or change cannot be made; `problems` maps a form field to what is wrong."""

    def __init__(self, problems: Mapping[str, list[str]]) -> None:
        super().__init__("; ".join(p for found in problems.values() for p in found))
        self.problems = dict(problems)


@dataclass(frozen=True)
class EventPlan:
    """What a planner typed, the start already in UTC."""

    friendly_name: str
    starts_at: datetime
    time_zone: str
    dial_lead_seconds: int
    caller_id: str
    lists: RoleLists = field(default_factory=dict)


def caller_ids() -> list[str]:
    """The numbers an event may dial from: those of the account events are planned on."""
    return invite_list.caller_ids(Conference(account=twilio_accounts.default_account()))


def _require_planner(user: User) -> None:
    if not roles.user_can(user, "plan_events"):
        raise PermissionDenied("Your role cannot plan scheduled conferences.")


def _check_times(starts_at: datetime, lead: int, now: datetime) -> dict[str, list[str]]:
    if starts_at - timedelta(seconds=lead) <= now:
        return {"starts_at": ["Choose a start far enough ahead for the dial-out lead time."]}
    return {}


def _add_role_lists(user: User, conference: Conference, lists: RoleLists) -> int:
    """Check every role's list (every bad row is a problem) and add them, each with its
    role; the same number typed under two roles stays in the first."""
    problems: dict[str, list[str]] = {}
    for role in ROLE_ORDER:
        text = lists.get(role, "").strip()
        if not text:
            continue
        preview = invite_import.read_invite_list(text, conference=conference, user=user)
        found = [f"Line {row.line}: {'; '.join(row.problems)}" for row in preview.bad]
        if found or preview.problems:
            problems[role] = [*preview.problems, *found]
    if problems:
        raise EventRefused(problems)
    added = 0
    for role in ROLE_ORDER:
        text = lists.get(role, "").strip()
        if not text:
            continue
        before = set(conference.invitees.values_list("pk", flat=True))
        added += invite_import.add_invitees(user=user, conference=conference, text=text).added
        conference.invitees.exclude(pk__in=before).update(role=role)
    return added


def plan_event(*, user: User, plan: EventPlan, now: datetime | None = None) -> ScheduledConference:
    """Open a conference for later, with its invite list by role; nothing is dialed now."""
    _require_planner(user)
    now = now or timezone.now()
    problems = _check_times(plan.starts_at, plan.dial_lead_seconds, now)
    if plan.caller_id not in caller_ids():
        problems["caller_id"] = ["Choose one of the account's caller IDs."]
    if problems:
        raise EventRefused(problems)
    with transaction.atomic():
        try:
            conference = live_actions.open_conference(user=user, friendly_name=plan.friendly_name)
        except LiveActionRefused as refused:
            raise EventRefused({"friendly_name": [str(refused)]}) from refused
        if hasattr(conference, "schedule") or conference.dials.exists():
            raise EventRefused(
                {"friendly_name": ["A conference of that name is already open: choose another."]}
            )
        event = ScheduledConference.objects.create(
            conference=conference,
            starts_at=plan.starts_at,
            time_zone=plan.time_zone,
            dial_lead_seconds=plan.dial_lead_seconds,
            dial_at=plan.starts_at - timedelta(seconds=plan.dial_lead_seconds),
            caller_id=plan.caller_id,
            planned_by=user,
        )
        RoleSettings.objects.bulk_create(
            [
                RoleSettings(conference=conference, role=role, **ROLE_DEFAULTS[role])
                for role in ROLE_ORDER
            ],
            ignore_conflicts=True,  # a conference planned again keeps what its owner chose
        )
        added = _add_role_lists(user, conference, plan.lists)
        audit.record(
            AuditAction.PLAN_EVENT,
            actor=user,
            conference=conference,
            detail={
                "event": event.pk,
                "starts_at": plan.starts_at.isoformat(),
                "lead_seconds": plan.dial_lead_seconds,
                "invitees": added,
            },
        )
    return event


def _require_changeable(user: User, event: ScheduledConference) -> None:
    _require_planner(user)
    if not live_access.can_act(user, event.conference):
        raise PermissionDenied("You do not run this conference.")


def edit_event(
    *,
    user: User,
    event: ScheduledConference,
    plan: EventPlan,
    now: datetime | None = None,
) -> ScheduledConference:
    """Move the start, lead time or caller ID, or add invitees, while it is still scheduled."""
    _require_changeable(user, event)
    now = now or timezone.now()
    problems = _check_times(plan.starts_at, plan.dial_lead_seconds, now)
    if plan.caller_id not in caller_ids():
        problems["caller_id"] = ["Choose one of the account's caller IDs."]
    if problems:
        raise EventRefused(problems)
    with transaction.atomic():
        # The row lock orders this edit against the dial-out's claim (also an UPDATE).
        changed = ScheduledConference.objects.filter(
            pk=event.pk, status=EventStatus.SCHEDULED, dial_at__gt=now
        ).update(
            starts_at=plan.starts_at,
            time_zone=plan.time_zone,
            dial_lead_seconds=plan.dial_lead_seconds,
            dial_at=plan.starts_at - timedelta(seconds=plan.dial_lead_seconds),
            caller_id=plan.caller_id,
        )
        if not changed:
            raise EventRefused({"__all__": ["Its dial-out has begun: it can no longer change."]})
        added = _add_role_lists(user, event.conference, plan.lists)
        audit.record(
            AuditAction.EDIT_EVENT,
            actor=user,
            conference=event.conference,
            detail={
                "event": event.pk,
                "starts_at": plan.starts_at.isoformat(),
                "lead_seconds": plan.dial_lead_seconds,
                "invitees_added": added,
            },
        )
    event.refresh_from_db()
    return event


def cancel_event(
    *, user: User, event: ScheduledConference, now: datetime | None = None
) -> ScheduledConference:
    """Cancel before the dial-out begins: nobody on its list will be dialed."""
    _require_changeable(user, event)
    now = now or timezone.now()
    with transaction.atomic():
        canceled = ScheduledConference.objects.filter(
            pk=event.pk, status=EventStatus.SCHEDULED
        ).update(status=EventStatus.CANCELED, canceled_at=now, canceled_by=user)
        if not canceled:
            raise EventRefused(
                {"__all__": ["Its dial-out has begun: it can no longer be canceled."]}
            )
        audit.record(
            AuditAction.CANCEL_EVENT,
            actor=user,
            conference=event.conference,
            detail={"event": event.pk},
        )
    event.refresh_from_db()
    return event


def change_role_settings(
    *, user: User, event: ScheduledConference, role: str, values: Mapping[str, bool | str]
) -> RoleSettings:
    """How one role joins from now on (dials already placed keep what they were sent)."""
    _require_changeable(user, event)
    fields = {name: values[name] for name in ROLE_DEFAULTS[role]}
    settings, _ = RoleSettings.objects.update_or_create(
        conference=event.conference, role=role, defaults=fields
    )
    audit.record(
        AuditAction.ROLE_SETTINGS,
        actor=user,
        conference=event.conference,
        detail={"event": event.pk, "role": role, "settings": dict(fields)},
    )
    return settings
