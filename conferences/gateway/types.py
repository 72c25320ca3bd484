"""What goes into and comes out of the gateway: plain dataclasses, no SDK objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class PlacedParticipant:
    call_sid: str
    conference_sid: str
    status: str
    label: str
    queue_time_ms: int | None
    response: dict[str, Any]


@dataclass(frozen=True)
class ParticipantSummary:
    call_sid: str
    conference_sid: str
    label: str
    status: str
    muted: bool
    hold: bool
    coaching: bool


@dataclass(frozen=True)
class CallSummary:
    sid: str
    to: str
    from_: str
    status: str
    date_created: datetime | None
    answered_by: str
    duration_seconds: int | None


@dataclass(frozen=True)
class ConferenceSummary:
    sid: str
    friendly_name: str
    status: str
    reason_ended: str


# --- Live conference controls (issue 11: used by conferences/live/) ---------------------
# Participants are addressed by CallSid or Label; both go into the URL encoded.


@dataclass(frozen=True)
class LiveParticipant:
    """A participant as Twilio's Participant resource describes it now."""

    call_sid: str
    label: str
    status: str  # queued | connecting | ringing | connected | complete | failed
    muted: bool
    hold: bool
    coaching: bool
    call_sid_to_coach: str
    end_conference_on_exit: bool
    start_conference_on_enter: bool
    date_created: datetime | None


@dataclass(frozen=True)
class ParticipantChange:
    """Participant update parameters; None leaves a setting as it is (not sent)."""

    muted: bool | None = None
    hold: bool | None = None
    hold_url: str | None = None
    hold_method: str | None = None
    announce_url: str | None = None
    announce_method: str | None = None
    beep_on_exit: bool | None = None
    end_conference_on_exit: bool | None = None
    coaching: bool | None = None
    call_sid_to_coach: str | None = None

    def sdk_kwargs(self) -> dict[str, Any]:
        return {name: value for name, value in vars(self).items() if value is not None}


# --- End of live conference controls -----------------------------------------------------


# --- Operations: reconciliation and retention (issue 12: conferences/reconcile.py, ---
# --- conferences/retention.py) ---------------------------------------------------------


@dataclass(frozen=True)
class CallDetails:
    """A call as Twilio's Call resource describes it now (no numbers: nobody here needs them)."""

    sid: str
    status: str  # queued | initiated | ringing | in-progress | completed | busy | failed | …
    start_time: datetime | None  # when the call started (at or before the answer)
    end_time: datetime | None
    duration_seconds: int | None  # empty for unanswered and ongoing calls
    answered_by: str
    date_updated: datetime | None


@dataclass(frozen=True)
class ConferenceDetails:
    """A conference as Twilio's Conference resource describes it now, with its times."""

    sid: str
    status: str  # init | in-progress | completed
    reason_ended: str
    call_sid_ending: str
    date_created: datetime | None
    date_updated: datetime | None  # for a completed conference: when it ended


@dataclass(frozen=True)
class AccountCredentials:
    """What the gateway needs to call Twilio as one account. Never logged or rendered."""

    account_sid: str
    username: str  # the account SID, or an API key SID
    password: str  # the auth token, or the API key secret
    api_base_url: str

    def __repr__(self) -> str:
        return f"AccountCredentials({self.account_sid}, username={self.username})"
