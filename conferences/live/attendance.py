"""Who is in a conference now: each dial's participant facts and attendance state."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Value
from django.db.models.functions import Coalesce

from conferences.audit.trail import AuditAction
from conferences.models import (
    AuditEntry,
    CallbackEvent,
    CallbackKind,
    Conference,
    DialRequest,
    DialStatus,
)

# An action Twilio accepted shows as pending on the roster until its callback confirms it.
PENDING_FOR = timedelta(seconds=30)
LIVE_DIAL_STATUSES = frozenset(
    {
        DialStatus.PENDING,
        DialStatus.PLACING,
        DialStatus.QUEUED,
        DialStatus.INITIATED,
        DialStatus.RINGING,
        DialStatus.IN_PROGRESS,
    }
)
WAITING_DIAL_STATUSES = frozenset({DialStatus.PENDING, DialStatus.PLACING})
REMOVED_VIA_API = "participant_updated_via_api"
ENDED_WITH_CONFERENCE = frozenset({"conference_ended_via_api", "moderator_ended_conference"})


# --- What callbacks said about each participant ----------------------------------------


@dataclass
class ParticipantFacts:
    """One participant as the conference callbacks describe it, latest event winning."""

    call_sid: str
    label: str = ""
    joined_at: datetime | None = None
    left_at: datetime | None = None
    muted: bool = False
    hold: bool = False
    coaching: bool = False
    call_sid_to_coach: str = ""
    end_conference_on_exit: bool | None = None
    leave_reason: str = ""
    leave_call_status: str = ""

    @property
    def present(self) -> bool:
        return self.joined_at is not None and self.left_at is None


def _flag(event: CallbackEvent, name: str) -> bool | None:
    return {"true": True, "false": False}.get(event.param(name).lower())


def participant_facts(conference: Conference) -> dict[str, ParticipantFacts]:
    """Fold the conference's participant events, in Twilio's order, into one row per call."""
    events = (
        CallbackEvent.objects.filter(conference=conference, kind=CallbackKind.CONFERENCE)
        .exclude(call_sid="")
        .order_by(Coalesce("sequence_number", Value(0)), "received_at", "pk")
    )
    facts: dict[str, ParticipantFacts] = {}
    for event in events:
        row = facts.setdefault(event.call_sid, ParticipantFacts(call_sid=event.call_sid))
        moment = event.twilio_timestamp or event.received_at
        row.label = event.param("ParticipantLabel") or row.label
        if event.event == "participant-join":
            row.joined_at = row.joined_at or moment
        elif event.event == "participant-leave":
            row.left_at = moment
            row.leave_reason = event.param("ReasonParticipantLeft")
            row.leave_call_status = event.param("ParticipantCallStatus")
        for name, attribute in (("Muted", "muted"), ("Hold", "hold"), ("Coaching", "coaching")):
            value = _flag(event, name)
            if value is not None:
                setattr(row, attribute, value)
        if row.coaching:
            row.call_sid_to_coach = event.param("CallSidToCoach") or row.call_sid_to_coach
        end_on_exit = _flag(event, "EndConferenceOnExit")
        if end_on_exit is not None:
            row.end_conference_on_exit = end_on_exit
    return facts


# --- Attendance: one word per invitee (and per ended participant) ----------------------


class Attendance:
    """An invitee's state at a glance (derived, never stored)."""

    NOT_DIALED = "not-dialed"
    QUEUED = "queued"
    RINGING = "ringing"
    IN_CONFERENCE = "in-conference"
    LEFT = "left"
    REMOVED = "removed"
    DROPPED = "dropped"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    VOICEMAIL = "voicemail"
    FAILED = "failed"

    LABELS = {
        NOT_DIALED: "Not dialed",
        QUEUED: "Queued",
        RINGING: "Ringing",
        IN_CONFERENCE: "In the conference",
        LEFT: "Left",
        REMOVED: "Removed",
        DROPPED: "Dropped",
        BUSY: "Busy",
        NO_ANSWER: "No answer",
        VOICEMAIL: "Voicemail",
        FAILED: "Failed",
    }
    # Still on their way in or in: "Dial all missing" leaves these alone.
    ACTIVE = frozenset({QUEUED, RINGING, IN_CONFERENCE})


@dataclass(frozen=True)
class AttendanceReading:
    state: str
    detail: str = ""

    @property
    def label(self) -> str:
        return Attendance.LABELS[self.state]

    @property
    def active(self) -> bool:
        return self.state in Attendance.ACTIVE


def is_machine(answered_by: str) -> bool:
    return answered_by.startswith("machine") or answered_by == "fax"


def _seconds(value: timedelta) -> int:
    return max(0, int(value.total_seconds()))


def attendance(
    dial: DialRequest | None,
    *,
    removed_by_operator: bool = False,
    dropped_within_seconds: int = 60,
    leave_call_status: str = "",
) -> AttendanceReading:
    """Where a dial left its callee, told from the call's callbacks and our own actions."""
    if dial is None:
        return AttendanceReading(Attendance.NOT_DIALED)
    if is_machine(dial.answered_by):
        what = "a fax machine" if dial.answered_by == "fax" else "an answering machine"
        return AttendanceReading(Attendance.VOICEMAIL, f"answered by {what}")
    status = dial.status
    if status in (DialStatus.PENDING, DialStatus.PLACING, DialStatus.QUEUED):
        return AttendanceReading(Attendance.QUEUED)
    if status in (DialStatus.INITIATED, DialStatus.RINGING):
        return AttendanceReading(Attendance.RINGING)
    if status == DialStatus.IN_PROGRESS and dial.left_at is None:
        return AttendanceReading(Attendance.IN_CONFERENCE)
    if status == DialStatus.BUSY:
        return AttendanceReading(Attendance.BUSY)
    if status == DialStatus.NO_ANSWER:
        return AttendanceReading(Attendance.NO_ANSWER)
    if status == DialStatus.FAILED:
        return AttendanceReading(Attendance.FAILED, dial.error_message or dial.failure_reason)
    if status == DialStatus.CANCELED:
        if removed_by_operator or dial.end_reason == REMOVED_VIA_API:
            return AttendanceReading(Attendance.REMOVED, "stopped before answering")
        if dial.placed_at is None:
            return AttendanceReading(Attendance.NOT_DIALED, "canceled before it started")
        return AttendanceReading(Attendance.NO_ANSWER, "the call was canceled while ringing")
    if dial.answered_at is None and dial.joined_at is None:
        return AttendanceReading(Attendance.NO_ANSWER)
    return _left_how(dial, removed_by_operator, dropped_within_seconds, leave_call_status)


def _left_how(
    dial: DialRequest, removed_by_operator: bool, dropped_within: int, leave_call_status: str
) -> AttendanceReading:
    """Removed, dropped or left: an operator's removal, then how the call itself ended."""
    if removed_by_operator or dial.end_reason == REMOVED_VIA_API:
        return AttendanceReading(Attendance.REMOVED)
    if dial.end_reason in ENDED_WITH_CONFERENCE:
        return AttendanceReading(Attendance.LEFT, "when the conference ended")
    if leave_call_status not in ("", "completed", "in-progress"):
        return AttendanceReading(Attendance.DROPPED, f"the call ended {leave_call_status}")
    if dial.sip_response_code is not None and dial.sip_response_code >= 400:
        return AttendanceReading(Attendance.DROPPED, f"SIP {dial.sip_response_code}")
    seconds = dial.call_duration_seconds
    if seconds is None and dial.joined_at and dial.left_at:
        seconds = _seconds(dial.left_at - dial.joined_at)
    if seconds is not None and seconds < dropped_within:
        return AttendanceReading(Attendance.DROPPED, f"hung up after {seconds} s")
    return AttendanceReading(Attendance.LEFT, f"after {seconds} s" if seconds is not None else "")


def removed_dial_ids(dial_ids: Iterable[int]) -> set[int]:
    """Dials an operator (or the voicemail rule) removed successfully."""
    return set(
        AuditEntry.objects.filter(
            dial_id__in=list(dial_ids), action=AuditAction.REMOVE, outcome="ok"
        ).values_list("dial_id", flat=True)
    )


def leave_call_statuses(dial_ids: Iterable[int]) -> dict[int, str]:
    """ParticipantCallStatus of each dial's participant-leave callback."""
    found: dict[int, str] = {}
    events = CallbackEvent.objects.filter(
        dial_id__in=list(dial_ids), kind=CallbackKind.CONFERENCE, event="participant-leave"
    ).only("dial_id", "params")
    for event in events:
        if event.dial_id is not None:
            found[event.dial_id] = event.param("ParticipantCallStatus")
    return found


def attendance_of(
    dials: Sequence[DialRequest], *, dropped_within_seconds: int
) -> dict[int, AttendanceReading]:
    """Attendance of several dials with two queries for the facts it needs."""
    ids = [dial.pk for dial in dials]
    removed = removed_dial_ids(ids)
    leave_statuses = leave_call_statuses(ids)
    return {
        dial.pk: attendance(
            dial,
            removed_by_operator=dial.pk in removed,
            dropped_within_seconds=dropped_within_seconds,
            leave_call_status=leave_statuses.get(dial.pk, ""),
        )
        for dial in dials
    }
