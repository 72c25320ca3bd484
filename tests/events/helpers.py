"""Helpers for the scheduled conference tests: plan one, let the beat come at a chosen
moment, read attendance as the invite list shows it."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from django.utils import timezone

from conferences.core import task_queue
from conferences.events import planning
from conferences.live.invite_list import invite_list
from conferences.models import InviteeRole, ScheduledConference, User
from tests.support.dialing import CALLER_ID

HOSTS = ["+15005552001, Hana Host", "+15005552002, Hugo Host"]
SPEAKERS = ["+15005552003, Sia Speaker", "+15005552004, Sven Speaker", "+15005552005, Sol Speaker"]
LISTENERS = [f"+15005552{i:03d}, Listener {i}" for i in range(6, 21)]  # ring i s, stay


def planned(
    user: User,
    name: str,
    *,
    minutes_ahead: int = 5,
    lead_minutes: int = 2,
    lists: dict[str, str] | None = None,
) -> ScheduledConference:
    """An event planned through the service, starting `minutes_ahead` from now."""
    starts = timezone.now() + timedelta(minutes=minutes_ahead)
    return planning.plan_event(
        user=user,
        plan=planning.EventPlan(
            friendly_name=name,
            starts_at=starts,
            time_zone="Europe/Berlin",
            dial_lead_seconds=lead_minutes * 60,
            caller_id=CALLER_ID,
            lists=lists
            or {
                InviteeRole.HOST: "\n".join(HOSTS),
                InviteeRole.SPEAKER: "\n".join(SPEAKERS),
                InviteeRole.LISTENER: "\n".join(LISTENERS),
            },
        ),
    )


def beat_at(moment: datetime) -> None:
    """What the beat does, through the queue to a real worker, with the clock at `moment`."""
    task_queue.task(task_queue.DIAL_DUE_EVENTS).delay(now=moment.isoformat())


def states(user: User, event: ScheduledConference) -> dict[str, int]:
    """How many invitees are in each attendance state."""
    return dict(Counter(row.attendance.state for row in invite_list(user, event.conference).rows))


def role_of_number(event: ScheduledConference) -> dict[str, str]:
    return dict(event.conference.invitees.values_list("number", "role"))
