"""A conference after the call, in the spirit of Twilio's Conference Insights: when it ran,
how and by whom it ended, the most participants at once, and each invitee's attendance
with the dial attempts behind it; the attendance as CSV, escaped as the history export is."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from conferences.accounts import masking
from conferences.callbacks.meaning import CONFERENCE_EVENTS
from conferences.core.words import format_duration
from conferences.events.monitoring import operator_call_sids
from conferences.history.export import (
    BYTE_ORDER_MARK,
    iso_utc,
    spreadsheet_number,
    spreadsheet_text,
    whole_seconds,
)
from conferences.live import access as live_access
from conferences.live import roster as live_roster
from conferences.live.access import Viewer
from conferences.live.attendance import Attendance, AttendanceReading, attendance_of
from conferences.models import (
    CallbackEvent,
    CallbackKind,
    Conference,
    DialRequest,
    Invitee,
    InviteeDial,
    InviteeRole,
)

# The conference events that move someone in or out (their meaning lives in callbacks).
JOINS = tuple(name for name, meaning in CONFERENCE_EVENTS.items() if meaning.joins)
LEAVES = tuple(name for name, meaning in CONFERENCE_EVENTS.items() if meaning.leaves)


@dataclass(frozen=True)
class Attempt:
    number: int
    reason: str
    dial: DialRequest
    reading: AttendanceReading

    @property
    def time_in(self) -> timedelta | None:
        return _time_in(self.dial)


@dataclass(frozen=True)
class InviteeAttendance:
    invitee: Invitee
    number: str
    attempts: list[Attempt]

    @property
    def role_label(self) -> str:
        return str(InviteeRole(self.invitee.role).label)

    @property
    def joined(self) -> bool:
        return self.first_joined_at is not None

    @property
    def first_joined_at(self) -> datetime | None:
        times = [a.dial.joined_at for a in self.attempts if a.dial.joined_at is not None]
        return min(times, default=None)

    @property
    def time_in(self) -> timedelta | None:
        spans = [span for a in self.attempts if (span := a.time_in) is not None]
        return sum(spans, timedelta(0)) if spans else None

    @property
    def time_in_words(self) -> str:
        return format_duration(self.time_in)

    @property
    def how_it_ended(self) -> AttendanceReading:
        """The last attempt's ending (left, removed, dropped, never answered, voicemail …)."""
        if not self.attempts:
            return AttendanceReading(Attendance.NOT_DIALED)
        return self.attempts[-1].reading


@dataclass(frozen=True)
class Summary:
    conference: Conference
    ended_why: str
    ended_by: str
    peak: int
    peak_at: datetime | None
    invitees: list[InviteeAttendance]

    @property
    def duration(self) -> timedelta | None:
        started, ended = self.conference.started_at, self.conference.ended_at
        return ended - started if started and ended else None

    @property
    def duration_words(self) -> str:
        return format_duration(self.duration)

    @property
    def joined(self) -> int:
        return sum(1 for row in self.invitees if row.joined)

    @property
    def attempts(self) -> int:
        return sum(len(row.attempts) for row in self.invitees)


def _time_in(dial: DialRequest) -> timedelta | None:
    """How long a dial was in the conference: joined until it left (or the end)."""
    if dial.joined_at is None:
        return None
    until = dial.left_at or dial.ended_at or dial.conference.ended_at or timezone.now()
    return max(until - dial.joined_at, timedelta(0))


def peak_from_callbacks(conference: Conference) -> tuple[int, datetime | None] | None:
    """The most participants at once, replayed from the conference's participant-join and
    -leave callbacks in Twilio's sequence order (timestamps have whole seconds: a join and a
    leave within one second cannot be ordered by them). None without such callbacks."""
    moves = CallbackEvent.objects.filter(
        conference=conference,
        kind=CallbackKind.CONFERENCE,
        event__in=(*JOINS, *LEAVES),
    ).order_by("sequence_number", "pk")
    operators = operator_call_sids(conference)
    inside: set[str] = set()
    peak, peak_at, seen = 0, None, False
    for event, call_sid, moment in moves.values_list("event", "call_sid", "twilio_timestamp"):
        seen = True
        if call_sid in operators:
            continue  # an operator listening in is not attendance
        (inside.add if event in JOINS else inside.discard)(call_sid)
        if len(inside) > peak:
            peak, peak_at = len(inside), moment
    return (peak, peak_at) if seen else None


def peak_from_dials(dials: list[DialRequest]) -> tuple[int, datetime | None]:
    """The most of our callers in at once, from their join and leave times (for a conference
    whose callbacks go elsewhere). A leave and a join at the same instant: the leave first."""
    moves: list[tuple[datetime, int]] = []
    for dial in dials:
        span = _time_in(dial)
        if dial.joined_at is None or span is None:
            continue
        moves += [(dial.joined_at, 1), (dial.joined_at + span, -1)]
    peak, peak_at, now_in = 0, None, 0
    for moment, change in sorted(moves):
        now_in += change
        if now_in > peak:
            peak, peak_at = now_in, moment
    return peak, peak_at


def conference_summary(user: Viewer, conference: Conference) -> Summary:
    """Everything the summary page shows, numbers masked as this user sees them."""
    # Operators' own legs (listen, whisper, barge) are not attendance.
    dials = list(
        conference.dials.filter(operator_leg__isnull=True)
        .select_related("conference")
        .order_by("pk")
    )
    controls = live_access.controls_for(conference)
    readings = attendance_of(dials, dropped_within_seconds=controls.dropped_within_seconds)
    by_dial = {dial.pk: dial for dial in dials}
    links: dict[int, list[InviteeDial]] = {}
    for link in InviteeDial.objects.filter(invitee__conference=conference).order_by("attempt"):
        links.setdefault(link.invitee_id, []).append(link)
    rows = []
    for invitee in conference.invitees.order_by("position", "pk"):
        attempts = [
            Attempt(
                number=link.attempt,
                reason=link.get_reason_display(),
                dial=by_dial[link.dial_id],
                reading=readings[link.dial_id],
            )
            for link in links.get(invitee.pk, [])
            if link.dial_id in by_dial
        ]
        number = masking.visible_invitee_number(user, invitee)
        rows.append(InviteeAttendance(invitee=invitee, number=number, attempts=attempts))
    roster = live_roster.roster(user, conference)
    peak, peak_at = peak_from_callbacks(conference) or peak_from_dials(dials)
    return Summary(
        conference=conference,
        ended_why=roster.ended_why,
        ended_by=roster.ended_by,
        peak=peak,
        peak_at=peak_at,
        invitees=rows,
    )


ATTENDANCE_HEADER = [
    "name",
    "number",
    "role",
    "joined",
    "first_joined_utc",
    "seconds_in_conference",
    "how_it_ended",
    "detail",
    "dial_attempts",
]


def attendance_csv(summary: Summary) -> Iterator[str]:
    """The attendance table as CSV lines (a BOM first, for spreadsheets)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(BYTE_ORDER_MARK)
    writer.writerow(ATTENDANCE_HEADER)
    for row in summary.invitees:
        ending = row.how_it_ended
        writer.writerow(
            [
                spreadsheet_text(row.invitee.name),
                spreadsheet_number(row.number),
                row.invitee.role,
                "yes" if row.joined else "no",
                iso_utc(row.first_joined_at),
                whole_seconds(row.time_in),
                ending.state,
                spreadsheet_text(ending.detail),
                str(len(row.attempts)),
            ]
        )
    yield buffer.getvalue()
