"""Reading scheduled conferences: the events list (upcoming, live, ended) and who an
upcoming one will dial, in dial order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet

from conferences.accounts import masking
from conferences.core.words import format_duration
from conferences.events.dial_out import invitees_in_dial_order
from conferences.events.monitoring import current_leg, operator_call_sids
from conferences.live import access as live_access
from conferences.live import roster as live_roster
from conferences.live.access import Viewer
from conferences.models import (
    ROLE_ORDER,
    ConferenceStatus,
    EventStatus,
    InviteeRole,
    OperatorLeg,
    RoleSettings,
    ScheduledConference,
    User,
)


@dataclass(frozen=True)
class WillDial:
    name: str
    number: str
    role: str


@dataclass(frozen=True)
class RoleGroup:
    role: str
    label: str
    people: list[WillDial]


@dataclass(frozen=True)
class EventRow:
    event: ScheduledConference
    groups: list[RoleGroup]
    now: datetime

    @property
    def until_start(self) -> timedelta:
        return self.event.starts_at - self.now

    @property
    def countdown(self) -> str:
        """`starts in 4m 30s`, or `starting` once the time has come."""
        left = self.until_start
        if left <= timedelta(0):
            return "starting"
        return f"starts in {format_duration(left)}"

    @property
    def dial_countdown(self) -> str:
        left = self.event.dial_at - self.now
        if left <= timedelta(0):
            return "dialing out"
        return f"dialing out in {format_duration(left)}"

    @property
    def total(self) -> int:
        return sum(len(group.people) for group in self.groups)

    @property
    def role_counts(self) -> str:
        """`2 hosts, 3 speakers, 15 listeners` (roles nobody has are left out)."""
        parts = []
        for group in self.groups:
            count = len(group.people)
            parts.append(f"{count} {group.label.lower()}{'' if count == 1 else 's'}")
        return ", ".join(parts) or "nobody yet"


@dataclass(frozen=True)
class EventListing:
    upcoming: list[EventRow]
    live: list[EventRow]
    ended: list[EventRow]


def visible_events(user: Viewer) -> QuerySet[ScheduledConference]:
    """Events of the conferences this user may see (operators: those they run)."""
    return ScheduledConference.objects.filter(
        conference__in=live_access.visible_conferences(user)
    ).select_related("conference", "planned_by", "canceled_by")


def who_will_be_dialed(user: Viewer, event: ScheduledConference) -> list[RoleGroup]:
    """The invite list in dial order, grouped by role, numbers as this user may see them."""
    by_role: dict[str, list[WillDial]] = {role: [] for role in ROLE_ORDER}
    for invitee in invitees_in_dial_order(event):
        by_role.setdefault(invitee.role, []).append(
            WillDial(
                name=invitee.name,
                number=masking.visible_invitee_number(user, invitee),
                role=invitee.role,
            )
        )
    return [
        RoleGroup(role=role, label=str(InviteeRole(role).label), people=people)
        for role, people in by_role.items()
        if people
    ]


def event_row(user: Viewer, event: ScheduledConference, now: datetime) -> EventRow:
    return EventRow(event=event, groups=who_will_be_dialed(user, event), now=now)


def event_listing(user: Viewer, now: datetime) -> EventListing:
    """Upcoming (soonest first), live, and ended or canceled (latest first, the last 50)."""
    events = visible_events(user)
    upcoming = events.filter(status=EventStatus.SCHEDULED).order_by("starts_at", "pk")
    live = (
        events.filter(status__in=[EventStatus.DIALING, EventStatus.DIALED])
        .exclude(conference__status=ConferenceStatus.COMPLETED)
        .order_by("starts_at", "pk")
    )
    ended = events.filter(
        Q(status__in=[EventStatus.CANCELED, EventStatus.MISSED])
        | Q(conference__status=ConferenceStatus.COMPLETED)
    ).order_by("-starts_at", "-pk")[:50]
    return EventListing(
        upcoming=[event_row(user, event, now) for event in upcoming],
        live=[event_row(user, event, now) for event in live],
        ended=[EventRow(event=event, groups=[], now=now) for event in ended],
    )


@dataclass(frozen=True)
class RosterGroup:
    role: str
    label: str
    entries: list[live_roster.RosterEntry]


@dataclass(frozen=True)
class Console:
    """The live roster grouped by role, and whether lecture mode is on."""

    roster: live_roster.Roster
    groups: list[RosterGroup]
    lecture_mode: bool
    settings: list[RoleSettings]
    my_leg: OperatorLeg | None = None

    @property
    def whisper_targets(self) -> list[live_roster.RosterEntry]:
        """Whom the operator's leg may coach: anyone connected who is not an operator."""
        return [
            entry
            for group in self.groups
            if group.role != "operator"
            for entry in group.entries
            if entry.connected
        ]


def console(user: Viewer, event: ScheduledConference) -> Console:
    """Who is in the event's conference now, hosts first, then speakers, listeners, others."""
    roster = live_roster.roster(user, event.conference)
    by_role: dict[str, list[live_roster.RosterEntry]] = {role: [] for role in ROLE_ORDER}
    others: list[live_roster.RosterEntry] = []
    operators: list[live_roster.RosterEntry] = []
    operator_sids = operator_call_sids(event.conference)
    for entry in roster.now:
        if entry.call_sid and entry.call_sid in operator_sids:
            operators.append(entry)
        elif entry.invitee is not None and entry.invitee.role in by_role:
            by_role[entry.invitee.role].append(entry)
        else:
            others.append(entry)
    groups = [
        RosterGroup(role=role, label=f"{InviteeRole(role).label}s", entries=entries)
        for role, entries in by_role.items()
    ]
    if others:
        groups.append(RosterGroup(role="other", label="Not on the invite list", entries=others))
    if operators:
        label = "Operators listening in (not attendance)"
        groups.append(RosterGroup(role="operator", label=label, entries=operators))
    return Console(
        roster=roster,
        groups=groups,
        lecture_mode=roster.controls.lecture_mode,
        settings=console_settings(event),
        my_leg=current_leg(user, event.conference) if isinstance(user, User) else None,
    )


def console_settings(event: ScheduledConference) -> list[RoleSettings]:
    """The event's role settings, hosts first."""
    return sorted(
        RoleSettings.objects.filter(conference=event.conference),
        key=lambda row: ROLE_ORDER.index(row.role),
    )
