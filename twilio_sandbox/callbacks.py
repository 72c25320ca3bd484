"""The webhook requests Twilio sends, built with Twilio's parameter names and values.

Builders read state and advance the SequenceNumber of the call or conference they report
on (the caller holds the store lock); `delivery` signs and sends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from twilio_sandbox.clock import rfc2822, utcnow
from twilio_sandbox.state import Call, Conference, Participant, Recording
from twilio_sandbox.validation import CallbackSpec

API_VERSION: Final = "2010-04-01"
GEO_FIELDS: Final = tuple(
    prefix + suffix
    for prefix in ("Called", "Caller", "From", "To")
    for suffix in ("City", "Country", "State", "Zip")
)


@dataclass(frozen=True)
class Callback:
    """One webhook request to send: where, how, what, and whom it concerns (for faults)."""

    kind: str  # call-status | conference | recording | conference-recording | amd
    event: str
    account_sid: str
    url: str
    method: str
    params: tuple[tuple[str, str], ...]
    call_sid: str | None = None
    conference_sid: str | None = None
    to: str | None = None
    label: str | None = None


def _flag(value: bool) -> str:
    return "true" if value else "false"


def call_status(
    call: Call, spec: CallbackSpec, call_status_value: str, label: str | None
) -> Callback:
    """Participant call progress: initiated, ringing, in-progress (answered) or final."""
    params: list[tuple[str, str]] = [
        ("AccountSid", call.account_sid),
        ("ApiVersion", API_VERSION),
        ("CallSid", call.sid),
        ("CallStatus", call_status_value),
        ("Called", call.to),
        ("Caller", call.from_),
        ("CallbackSource", "call-progress-events"),
        ("Direction", "outbound-api"),
        ("From", call.from_),
        ("SequenceNumber", str(call.callback_sequence)),
        ("Timestamp", rfc2822(utcnow())),
        ("To", call.to),
    ]
    params.extend((name, "") for name in GEO_FIELDS)
    if call.answered_by is not None:
        params.append(("AnsweredBy", call.answered_by))
    if call.status.is_final:
        duration = call.duration or 0
        params.extend(
            [
                ("CallDuration", str(duration)),
                # Billable minutes, rounded up, as in Twilio's captures.
                ("Duration", str(math.ceil(duration / 60))),
                ("SipResponseCode", str(call.sip_response_code or 0)),
            ]
        )
    call.callback_sequence += 1
    return Callback(
        kind="call-status",
        event=call_status_value,
        account_sid=call.account_sid,
        url=spec.url,
        method=spec.method,
        params=tuple(params),
        call_sid=call.sid,
        conference_sid=call.conference_sid,
        to=call.to,
        label=label,
    )


def conference_event(
    conference: Conference,
    spec: CallbackSpec,
    event: str,
    participant: Participant | None = None,
    call: Call | None = None,
    extra: tuple[tuple[str, str], ...] = (),
) -> Callback:
    conference.callback_sequence += 1
    params: list[tuple[str, str]] = [
        ("AccountSid", conference.account_sid),
        ("ConferenceSid", conference.sid),
        ("FriendlyName", conference.friendly_name),
        ("SequenceNumber", str(conference.callback_sequence)),
        ("StatusCallbackEvent", event),
        ("Timestamp", rfc2822(utcnow())),
    ]
    if participant is not None:
        params.extend(
            [
                ("CallSid", participant.call_sid),
                ("Coaching", _flag(participant.coaching)),
                ("EndConferenceOnExit", _flag(participant.end_conference_on_exit)),
                ("Hold", _flag(participant.hold)),
                ("Muted", _flag(participant.muted)),
                ("StartConferenceOnEnter", _flag(participant.start_conference_on_enter)),
            ]
        )
        if participant.label is not None:
            params.append(("ParticipantLabel", participant.label))
        if participant.coaching and participant.call_sid_to_coach:
            params.append(("CallSidToCoach", participant.call_sid_to_coach))
    params.extend(extra)
    return Callback(
        kind="conference",
        event=event,
        account_sid=conference.account_sid,
        url=spec.url,
        method=spec.method,
        params=tuple(params),
        call_sid=participant.call_sid if participant else None,
        conference_sid=conference.sid,
        to=call.to if call else None,
        label=participant.label if participant else None,
    )


def recording_status(
    *,
    base_url: str,
    account_sid: str,
    spec: CallbackSpec,
    recording: Recording,
    status: str,
    source: str,
    duration: int | None,
    call: Call | None = None,
    conference: Conference | None = None,
    label: str | None = None,
) -> Callback:
    params: list[tuple[str, str]] = [("AccountSid", account_sid)]
    if call is not None:
        params.append(("CallSid", call.sid))
    if conference is not None:
        params.append(("ConferenceSid", conference.sid))
    params.extend(
        [
            ("RecordingChannels", "2" if recording.channels == "dual" else "1"),
            ("RecordingSid", recording.sid),
            ("RecordingSource", source),
            ("RecordingStartTime", rfc2822(recording.started_at)),
            ("RecordingStatus", status),
            (
                "RecordingUrl",
                f"{base_url}/2010-04-01/Accounts/{account_sid}/Recordings/{recording.sid}",
            ),
        ]
    )
    if duration is not None:
        params.append(("RecordingDuration", str(duration)))
    return Callback(
        kind="conference-recording" if conference is not None else "recording",
        event=status,
        account_sid=account_sid,
        url=spec.url,
        method=spec.method,
        params=tuple(params),
        call_sid=call.sid if call else None,
        conference_sid=conference.sid if conference else (call.conference_sid if call else None),
        to=call.to if call else None,
        label=label,
    )


def machine_detection(
    call: Call, spec: CallbackSpec, duration_ms: int, label: str | None
) -> Callback:
    return Callback(
        kind="amd",
        event=call.answered_by or "unknown",
        account_sid=call.account_sid,
        url=spec.url,
        method=spec.method,
        params=(
            ("AccountSid", call.account_sid),
            ("AnsweredBy", call.answered_by or "unknown"),
            ("CallSid", call.sid),
            ("MachineDetectionDuration", str(duration_ms)),
        ),
        call_sid=call.sid,
        conference_sid=call.conference_sid,
        to=call.to,
        label=label,
    )
