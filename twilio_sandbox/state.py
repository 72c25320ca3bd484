"""In-memory accounts, conferences, participants and calls, behind one re-entrant lock.

Every read or change of these objects happens while holding `Store.lock`; the API threads
and the scheduler thread share them.
"""

from __future__ import annotations

import hmac
import threading
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from twilio_sandbox.clock import utcnow
from twilio_sandbox.magic import CallPlan
from twilio_sandbox.validation import CallbackSpec, ParticipantRequest


class CallStatus(StrEnum):
    QUEUED = "queued"
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    BUSY = "busy"
    FAILED = "failed"
    NO_ANSWER = "no-answer"
    CANCELED = "canceled"

    @property
    def is_final(self) -> bool:
        return self in FINAL_CALL_STATUSES


FINAL_CALL_STATUSES = frozenset(
    {
        CallStatus.COMPLETED,
        CallStatus.BUSY,
        CallStatus.FAILED,
        CallStatus.NO_ANSWER,
        CallStatus.CANCELED,
    }
)


class ParticipantStatus(StrEnum):
    QUEUED = "queued"
    CONNECTING = "connecting"
    RINGING = "ringing"
    CONNECTED = "connected"
    COMPLETE = "complete"
    FAILED = "failed"

    @property
    def is_active(self) -> bool:
        return self not in (ParticipantStatus.COMPLETE, ParticipantStatus.FAILED)


class ConferenceStatus(StrEnum):
    INIT = "init"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"


@dataclass(frozen=True)
class SandboxAccount:
    """An account the sandbox accepts: its SID, auth token and API keys (SID -> secret)."""

    sid: str
    auth_token: str
    api_keys: dict[str, str] = field(default_factory=dict)


@dataclass
class Recording:
    sid: str
    started_at: datetime
    started_sim: float
    channels: str


@dataclass
class Call:
    sid: str
    account_sid: str
    conference_sid: str
    request: ParticipantRequest
    plan: CallPlan
    queue_time_ms: int
    status: CallStatus = CallStatus.QUEUED
    date_created: datetime = field(default_factory=utcnow)
    date_updated: datetime = field(default_factory=utcnow)
    start_time: datetime | None = None
    end_time: datetime | None = None
    answered_sim: float | None = None
    duration: int | None = None
    answered_by: str | None = None
    sip_response_code: int | None = None
    detection_ms: int | None = None
    callback_sequence: int = 0
    recording: Recording | None = None

    @property
    def to(self) -> str:
        return self.request.to

    @property
    def from_(self) -> str:
        return self.request.from_

    def touch(self) -> None:
        self.date_updated = utcnow()


@dataclass
class Participant:
    call_sid: str
    account_sid: str
    conference_sid: str
    label: str | None
    muted: bool
    hold: bool
    coaching: bool
    call_sid_to_coach: str | None
    start_conference_on_enter: bool
    end_conference_on_exit: bool
    beep_on_exit: bool
    wait_url: str | None
    wait_method: str
    hold_url: str | None = None
    hold_method: str = "GET"
    status: ParticipantStatus = ParticipantStatus.QUEUED
    date_created: datetime = field(default_factory=utcnow)
    date_updated: datetime = field(default_factory=utcnow)

    def touch(self) -> None:
        self.date_updated = utcnow()


@dataclass
class Conference:
    """A conference; its callback and recording settings come from its first participant."""

    sid: str
    account_sid: str
    friendly_name: str
    region: str
    max_participants: int
    status_callback: CallbackSpec | None
    record: str
    recording_callback: CallbackSpec | None
    status: ConferenceStatus = ConferenceStatus.INIT
    started: bool = False
    date_created: datetime = field(default_factory=utcnow)
    date_updated: datetime = field(default_factory=utcnow)
    reason_ended: str | None = None
    call_sid_ending: str | None = None
    participants: dict[str, Participant] = field(default_factory=dict)
    callback_sequence: int = 0
    recording: Recording | None = None

    def touch(self) -> None:
        self.date_updated = utcnow()

    def active_participants(self) -> list[Participant]:
        return [p for p in self.participants.values() if p.status.is_active]

    def connected_participants(self) -> list[Participant]:
        return [p for p in self.participants.values() if p.status is ParticipantStatus.CONNECTED]

    def find_active(self, call_sid_or_label: str) -> Participant | None:
        for participant in self.active_participants():
            if call_sid_or_label in (participant.call_sid, participant.label):
                return participant
        return None


class Store:
    """All sandbox state. `epoch` changes on reset so stale timers know to do nothing."""

    def __init__(self, accounts: list[SandboxAccount]) -> None:
        self.lock = threading.RLock()
        self.accounts = {account.sid: account for account in accounts}
        self.conferences: dict[str, Conference] = {}
        self.calls: dict[str, Call] = {}
        self.calls_per_destination: dict[str, int] = {}
        self.epoch = 0

    def reset(self) -> None:
        with self.lock:
            self.conferences.clear()
            self.calls.clear()
            self.calls_per_destination.clear()
            self.epoch += 1

    def authenticate(self, username: str, password: str) -> SandboxAccount | None:
        """The account an AccountSid:AuthToken or ApiKeySid:Secret pair belongs to."""
        account = self.accounts.get(username)
        if account is not None:
            return account if _same(account.auth_token, password) else None
        for account in self.accounts.values():
            secret = account.api_keys.get(username)
            if secret is not None and _same(secret, password):
                return account
        return None

    def open_conference_named(self, account_sid: str, friendly_name: str) -> Conference | None:
        for conference in self.conferences.values():
            if (
                conference.account_sid == account_sid
                and conference.friendly_name == friendly_name
                and conference.status is not ConferenceStatus.COMPLETED
            ):
                return conference
        return None

    def participant_of(self, call: Call) -> Participant:
        return self.conferences[call.conference_sid].participants[call.sid]


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())
