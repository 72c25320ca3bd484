"""The forward-only rules as a pure function: a dial's events, in any order, replayed into
the state they leave (the call timeline shows each step)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from conferences.callbacks import meaning as callback_meaning
from conferences.callbacks import reading
from conferences.models import (
    DIAL_STATUS_RANK,
    FINAL_DIAL_STATUSES,
    CallbackEvent,
    CallbackKind,
    DialAttempt,
    DialStatus,
)

# --- One dial's story ---------------------------------------------------------------------


@dataclass(frozen=True)
class ParticipantState:
    """Where a participant stood after an event: what the dial row would say at that point."""

    status: str = DialStatus.PENDING
    answered_by: str = ""
    answered_at: datetime | None = None
    joined_at: datetime | None = None
    left_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: str = ""
    call_duration_seconds: int | None = None
    sip_response_code: int | None = None
    error_code: int | None = None
    muted: bool | None = None
    hold: bool | None = None
    coaching: bool | None = None
    muted_sequence: int | None = None
    hold_sequence: int | None = None
    coaching_sequence: int | None = None
    recording_sid: str = ""
    conference_status: str = ""

    @property
    def status_label(self) -> str:
        return str(DialStatus(self.status).label)

    @property
    def in_conference(self) -> bool:
        return self.joined_at is not None and (
            self.left_at is None or self.left_at < self.joined_at
        )

    @property
    def flags(self) -> list[str]:
        flags = [
            name
            for name, on in (
                ("muted", self.muted),
                ("on hold", self.hold),
                ("coaching", self.coaching),
            )
            if on
        ]
        if self.in_conference:
            flags.insert(0, "in the conference")
        elif self.left_at is not None:
            flags.insert(0, "left")
        if self.answered_by:
            flags.append(f"answered by {self.answered_by}")
        return flags


@dataclass(frozen=True)
class ReplayEvent:
    """One step of a dial's life, as the pure replay reads it."""

    kind: str  # a CallbackKind, or "attempt" for a pipeline attempt
    event: str  # CallStatus, StatusCallbackEvent, … or the attempt's outcome
    received_at: datetime
    params: Mapping[str, Any] = field(default_factory=dict)
    sequence_number: int | None = None
    twilio_timestamp: datetime | None = None
    error_code: int | None = None

    def param(self, name: str) -> str:
        return reading.param_value(self.params, name)

    @property
    def moment(self) -> datetime:
        return self.twilio_timestamp or self.received_at


ATTEMPT = "attempt"


def int_param(value: str) -> int | None:
    """A whole number Twilio sent as text (None for anything else)."""
    try:
        return int(value.strip())
    except ValueError:
        return None


def _bool_param(value: str) -> bool | None:
    return {"true": True, "false": False}.get(value.strip().lower())


def _advance(state: ParticipantState, status: str) -> dict[str, Any]:
    if DIAL_STATUS_RANK[status] > DIAL_STATUS_RANK[state.status]:
        return {"status": status}
    return {}


def _earliest(current: datetime | None, moment: datetime) -> datetime:
    return moment if current is None or moment < current else current


def _latest(current: datetime | None, moment: datetime) -> datetime:
    return moment if current is None or moment > current else current


def next_state(state: ParticipantState, event: ReplayEvent) -> ParticipantState:
    """The participant's state after one event: the rules of applier.apply_event, kept pure.

    Forward-only status, the first final state wins and alone fills in how the call ended,
    answered/joined keep the earliest time and left the latest, toggles follow the highest
    SequenceNumber; so replaying in received order ends where the database row ended.
    """
    changes: dict[str, Any] = {}
    if event.kind == ATTEMPT:
        if event.event in (DialAttempt.Outcome.PLACED, DialAttempt.Outcome.ADOPTED):
            changes.update(_advance(state, DialStatus.QUEUED))
        elif event.event == DialAttempt.Outcome.PERMANENT_ERROR:
            changes.update(_advance(state, DialStatus.FAILED))
            if state.error_code is None and event.error_code:
                changes["error_code"] = event.error_code
        elif state.status == DialStatus.PENDING:
            changes["status"] = DialStatus.PLACING
    elif event.kind == CallbackKind.CALL_STATUS:
        changes.update(_call_status_changes(state, event))
    elif event.kind == CallbackKind.CONFERENCE:
        changes.update(_conference_changes(state, event))
    elif event.kind == CallbackKind.RECORDING:
        recording_sid = event.param("RecordingSid")
        if event.event == "completed" or (
            event.event in ("in-progress", "paused", "stopped", "processing")
            and not state.recording_sid
        ):
            changes["recording_sid"] = recording_sid
    elif event.kind == CallbackKind.AMD and not state.answered_by:
        changes["answered_by"] = event.event[:32]
    return dataclasses.replace(state, **changes) if changes else state


def _call_status_changes(state: ParticipantState, event: ReplayEvent) -> dict[str, Any]:
    meaning = callback_meaning.CALL_STATUSES.get(event.event)
    if meaning is None:
        return {}
    status = meaning.dial_status
    changes = _advance(state, status)
    answered_by = event.param("AnsweredBy")
    if answered_by and not state.answered_by:
        changes["answered_by"] = answered_by[:32]
    if status == DialStatus.IN_PROGRESS:
        changes["answered_at"] = _earliest(state.answered_at, event.moment)
    if status in FINAL_DIAL_STATUSES and changes.get("status", state.status) == status:
        if state.ended_at is None:
            changes["ended_at"] = event.moment
            changes["call_duration_seconds"] = int_param(event.param("CallDuration"))
            changes["sip_response_code"] = int_param(event.param("SipResponseCode"))
        if status != DialStatus.COMPLETED and not state.end_reason:
            changes["end_reason"] = str(status)
        error_code = int_param(event.param("ErrorCode"))
        if error_code and state.error_code is None:
            changes["error_code"] = error_code
    return changes


def _conference_changes(state: ParticipantState, event: ReplayEvent) -> dict[str, Any]:
    meaning = callback_meaning.CONFERENCE_EVENTS.get(event.event)
    if meaning is None:
        return {}
    changes: dict[str, Any] = {}
    if meaning.conference_status is not None:
        changes["conference_status"] = str(meaning.conference_status)
    if not meaning.participant:
        return changes
    if meaning.joins:
        changes.update(_advance(state, DialStatus.IN_PROGRESS))
        changes["joined_at"] = _earliest(state.joined_at, event.moment)
        changes["answered_at"] = _earliest(state.answered_at, event.moment)
    if meaning.leaves:
        changes["left_at"] = _latest(state.left_at, event.moment)
        reason = event.param("ReasonParticipantLeft")
        if reason:
            changes["end_reason"] = reason[:64]
    for toggle in callback_meaning.Toggle:
        value = meaning.toggles.get(toggle, _bool_param(event.param(toggle.value)))
        if value is None:
            continue
        seen = getattr(state, toggle.sequence_field)
        sequence = event.sequence_number
        if sequence is None:
            if seen is None:
                changes[toggle.field_name] = value
        elif seen is None or seen < sequence:
            changes[toggle.field_name] = value
            changes[toggle.sequence_field] = sequence
    return changes


def replay(
    events: Iterable[ReplayEvent], start: ParticipantState | None = None
) -> list[ParticipantState]:
    """The state after each event, replaying them in the order given (received order)."""
    state = start or ParticipantState()
    states = []
    for event in events:
        state = next_state(state, event)
        states.append(state)
    return states


def replay_event_from_callback(event: CallbackEvent) -> ReplayEvent:
    return ReplayEvent(
        kind=event.kind,
        event=event.event,
        received_at=event.received_at,
        params=event.params if isinstance(event.params, Mapping) else {},
        sequence_number=event.sequence_number,
        twilio_timestamp=event.twilio_timestamp,
    )


def replay_event_from_attempt(attempt: DialAttempt) -> ReplayEvent:
    return ReplayEvent(
        kind=ATTEMPT,
        event=attempt.outcome,
        received_at=attempt.started_at,
        error_code=attempt.error_code,
    )
