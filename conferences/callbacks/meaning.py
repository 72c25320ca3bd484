"""What Twilio's callback values mean for our records: one table per kind of callback."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from conferences.models import (
    CallbackKind,
    ConferenceStatus,
    DialStatus,
)
from conferences.schema.callback_events import BY_URL_PARAMETER

# Parameters as received: one value, or a list when Twilio repeated the name.
Params = Mapping[str, str | Sequence[str]]

# The kinds in our callback URLs (callbacks/addresses.py), in the order pages list them;
# a "reconciled" event is ours, not a callback.
WEBHOOK_KINDS: tuple[str, ...] = (
    CallbackKind.CALL_STATUS,
    CallbackKind.CONFERENCE,
    CallbackKind.RECORDING,
    CallbackKind.CONFERENCE_RECORDING,
    CallbackKind.AMD,
)

# --- The mapping table ----------------------------------------------------------------


@dataclass(frozen=True)
class CallStatusMeaning:
    dial_status: DialStatus
    relay_event: str | None  # StatusCallbackEvent as operators ask for it; None: never sent


# CallStatus (call-status callbacks) -> our status, and the event an operator subscribes
# to for it (Twilio's `answered` event arrives as in-progress; every end is `completed`).
CALL_STATUSES: dict[str, CallStatusMeaning] = {
    "queued": CallStatusMeaning(DialStatus.QUEUED, None),
    "initiated": CallStatusMeaning(DialStatus.INITIATED, "initiated"),
    "ringing": CallStatusMeaning(DialStatus.RINGING, "ringing"),
    "in-progress": CallStatusMeaning(DialStatus.IN_PROGRESS, "answered"),
    "completed": CallStatusMeaning(DialStatus.COMPLETED, "completed"),
    "busy": CallStatusMeaning(DialStatus.BUSY, "completed"),
    "no-answer": CallStatusMeaning(DialStatus.NO_ANSWER, "completed"),
    "canceled": CallStatusMeaning(DialStatus.CANCELED, "completed"),
    "failed": CallStatusMeaning(DialStatus.FAILED, "completed"),
}

# The Participant resource's status (Create Participant / fetch answers) -> our status.
PARTICIPANT_STATUSES: dict[str, DialStatus] = {
    "queued": DialStatus.QUEUED,
    "connecting": DialStatus.INITIATED,
    "ringing": DialStatus.RINGING,
    "connected": DialStatus.IN_PROGRESS,
    "complete": DialStatus.COMPLETED,
    "failed": DialStatus.FAILED,
}


class Toggle(StrEnum):
    """A participant setting that can go back and forth; the param Twilio reports it in."""

    MUTED = "Muted"
    HOLD = "Hold"
    COACHING = "Coaching"

    @property
    def field_name(self) -> str:
        return self.name.lower()

    @property
    def sequence_field(self) -> str:
        return f"{self.field_name}_sequence"


@dataclass(frozen=True)
class ConferenceEventMeaning:
    relay_event: str  # ConferenceStatusCallbackEvent as operators ask for it
    participant: bool = False  # concerns one participant (CallSid, ParticipantLabel)
    conference_status: ConferenceStatus | None = None
    joins: bool = False
    leaves: bool = False
    # Values the event itself stands for; other toggles come from its Muted/Hold/Coaching.
    toggles: Mapping[Toggle, bool] = field(default_factory=dict)


# StatusCallbackEvent (conference callbacks) -> what it does to our rows.
CONFERENCE_EVENTS: dict[str, ConferenceEventMeaning] = {
    "conference-start": ConferenceEventMeaning(
        "start", conference_status=ConferenceStatus.IN_PROGRESS
    ),
    "conference-end": ConferenceEventMeaning("end", conference_status=ConferenceStatus.COMPLETED),
    "participant-join": ConferenceEventMeaning("join", participant=True, joins=True),
    "participant-leave": ConferenceEventMeaning("leave", participant=True, leaves=True),
    "participant-mute": ConferenceEventMeaning("mute", True, toggles={Toggle.MUTED: True}),
    "participant-unmute": ConferenceEventMeaning("mute", True, toggles={Toggle.MUTED: False}),
    "participant-hold": ConferenceEventMeaning("hold", True, toggles={Toggle.HOLD: True}),
    "participant-unhold": ConferenceEventMeaning("hold", True, toggles={Toggle.HOLD: False}),
    "participant-modify": ConferenceEventMeaning("modify", participant=True),
    "participant-speech-start": ConferenceEventMeaning("speaker", participant=True),
    "participant-speech-stop": ConferenceEventMeaning("speaker", participant=True),
    "announcement-end": ConferenceEventMeaning("announcement"),
    "announcement-fail": ConferenceEventMeaning("announcement"),
}

# RecordingStatus (recording and conference-recording callbacks); operators subscribe to
# these names directly (in-progress, completed, absent).
# RecordingStatus: every event an operator can ask the recording callbacks for (from the
# schema), and `processing`, which Twilio reports between stopped and completed.
RECORDING_STATUSES: frozenset[str] = frozenset(
    {
        *BY_URL_PARAMETER["RecordingStatusCallback"].offered,
        *BY_URL_PARAMETER["ConferenceRecordingStatusCallback"].offered,
        "processing",
    }
)

# AnsweredBy (machine detection, and call-status callbacks when detection is on).
ANSWERED_BY_VALUES: frozenset[str] = frozenset(
    {
        "human",
        "machine_start",
        "machine_end_beep",
        "machine_end_silence",
        "machine_end_other",
        "fax",
        "unknown",
    }
)

CONFERENCE_STATUS_RANK: dict[str, int] = {
    ConferenceStatus.INIT: 0,
    ConferenceStatus.IN_PROGRESS: 1,
    ConferenceStatus.COMPLETED: 2,
}

# Identifiers each kind cannot do without; AccountSid is checked before the signature.
REQUIRED_PARAMETERS: dict[str, tuple[str, ...]] = {
    CallbackKind.CALL_STATUS: ("AccountSid", "CallSid", "CallStatus"),
    CallbackKind.CONFERENCE: ("AccountSid", "ConferenceSid", "StatusCallbackEvent"),
    CallbackKind.RECORDING: ("AccountSid", "RecordingSid", "RecordingStatus"),
    CallbackKind.CONFERENCE_RECORDING: ("AccountSid", "RecordingSid", "RecordingStatus"),
    CallbackKind.AMD: ("AccountSid", "CallSid", "AnsweredBy"),
}

# The parameter that names what happened, per kind (stored as CallbackEvent.event).
EVENT_PARAMETER: dict[str, str] = {
    CallbackKind.CALL_STATUS: "CallStatus",
    CallbackKind.CONFERENCE: "StatusCallbackEvent",
    CallbackKind.RECORDING: "RecordingStatus",
    CallbackKind.CONFERENCE_RECORDING: "RecordingStatus",
    CallbackKind.AMD: "AnsweredBy",
}

_INT_MAX = 2**31 - 1


def is_known_value(kind: str, value: str) -> bool:
    """Whether this app knows what the kind's event value means."""
    if kind == CallbackKind.CALL_STATUS:
        return value in CALL_STATUSES
    if kind == CallbackKind.CONFERENCE:
        return value in CONFERENCE_EVENTS
    if kind in (CallbackKind.RECORDING, CallbackKind.CONFERENCE_RECORDING):
        return value in RECORDING_STATUSES
    if kind == CallbackKind.AMD:
        return value in ANSWERED_BY_VALUES
    return False


def relay_event_name(kind: str, value: str) -> str | None:
    """The name an operator uses to subscribe to this event (None: no subscription gets it)."""
    if kind == CallbackKind.CALL_STATUS:
        meaning = CALL_STATUSES.get(value)
        return meaning.relay_event if meaning else None
    if kind == CallbackKind.CONFERENCE:
        conference_meaning = CONFERENCE_EVENTS.get(value)
        return conference_meaning.relay_event if conference_meaning else None
    if kind in (CallbackKind.RECORDING, CallbackKind.CONFERENCE_RECORDING):
        return value
    if kind == CallbackKind.AMD:
        return "amd"  # Twilio sends it whenever detection is asynchronous: no events to pick
    return None


def dial_status_for_participant(participant_status: str) -> DialStatus | None:
    """Our status for a Participant resource's status (Create Participant's answer)."""
    return PARTICIPANT_STATUSES.get(participant_status)
