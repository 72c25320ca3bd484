"""One dial's whole story: its parameters, attempts and callbacks as a timeline, and why it
ended.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import (
    Q,
)

from conferences.accounts import masking
from conferences.callbacks import durations
from conferences.callbacks import meaning as callback_meaning
from conferences.callbacks.replay import (
    ATTEMPT,
    ParticipantState,
    int_param,
    next_state,
    replay_event_from_attempt,
    replay_event_from_callback,
)
from conferences.core.words import (
    ANSWERED_BY_WORDS,
    CONFERENCE_END_WORDS,
    DECIDED_BY_WORDS,
    LEAVE_REASON_WORDS,
    format_duration,
    sip_words,
    twilio_error_words,
)
from conferences.history.filters import Viewer, can_listen_to_recordings, visible_dials
from conferences.models import (
    AuditEntry,
    CallbackEvent,
    CallbackKind,
    DialAttempt,
    DialRequest,
    DialStatus,
)
from conferences.schema import secret_parameters

# Parameters worth a glance on the timeline, per kind; the rest sit behind "all parameters".
KEY_PARAMETERS: dict[str, tuple[str, ...]] = {
    CallbackKind.CALL_STATUS: (
        "CallStatus",
        "AnsweredBy",
        "CallDuration",
        "SipResponseCode",
        "ErrorCode",
        "ErrorMessage",
    ),
    CallbackKind.CONFERENCE: (
        "StatusCallbackEvent",
        "ParticipantLabel",
        "Muted",
        "Hold",
        "Coaching",
        "ParticipantCallStatus",
        "ReasonParticipantLeft",
        "ReasonConferenceEnded",
        "CallSidEndingConference",
    ),
    CallbackKind.RECORDING: ("RecordingStatus", "RecordingSid", "RecordingDuration"),
    CallbackKind.CONFERENCE_RECORDING: ("RecordingStatus", "RecordingSid", "RecordingDuration"),
    CallbackKind.AMD: ("AnsweredBy", "MachineDetectionDuration"),
}
# Parameters that carry a phone number: masked like every number the viewer may not see.
NUMBER_PARAMETERS = masking.NUMBER_PARAMETERS


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    source: str  # "callback", "attempt" or "audit"
    kind: str
    kind_label: str
    event: str
    summary: str
    key_params: list[tuple[str, str]]
    raw_params: list[tuple[str, str]]
    sequence_number: int | None = None
    twilio_timestamp: datetime | None = None
    state: ParticipantState | None = None
    outcome: str = ""
    about_conference: bool = False  # a conference-wide event, not this participant's


@dataclass(frozen=True)
class DialStory:
    """Everything about one dial, as this viewer may see it."""

    dial: DialRequest
    to_display: str
    from_display: str
    verdict: str
    details: list[str]
    params: list[tuple[str, str]]
    response: list[tuple[str, str]]
    attempts: list[DialAttempt]
    timeline: list[TimelineEntry]
    final_state: ParticipantState
    can_listen: bool
    time_to_answer: timedelta | None
    time_in_conference: timedelta | None

    @property
    def has_recording(self) -> bool:
        return bool(self.dial.recording_sid)

    @property
    def time_to_answer_text(self) -> str:
        return format_duration(self.time_to_answer)

    @property
    def time_in_conference_text(self) -> str:
        return format_duration(self.time_in_conference)

    @property
    def decided_by_words(self) -> str:
        return DECIDED_BY_WORDS.get(self.dial.placed_by_check, self.dial.placed_by_check)


def _shown_value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if value is None:
        return ""
    return str(value)


def _visible_params(
    user: Viewer, dial: DialRequest, params: Mapping[str, Any]
) -> list[tuple[str, str]]:
    shown = []
    for name in sorted(params):
        if name in secret_parameters():  # never shown, whatever a row holds
            continue
        value = _shown_value(params[name])
        if name in NUMBER_PARAMETERS:
            value = masking.visible_dial_number(user, dial, value)
        shown.append((name, value))
    return shown


def _callback_summary(event: CallbackEvent) -> str:
    if event.kind == CallbackKind.CALL_STATUS:
        meaning = callback_meaning.CALL_STATUSES.get(event.event)
        label = meaning.dial_status.label if meaning else f"unknown status {event.event!r}"
        code = int_param(event.param("SipResponseCode"))
        return f"Call: {label}" + (f" ({sip_words(code)})" if code and code != 200 else "")
    if event.kind == CallbackKind.CONFERENCE:
        reason = event.param("ReasonParticipantLeft")
        ended = event.param("ReasonConferenceEnded")
        words = event.event.replace("-", " ").capitalize()
        if reason:
            words += f": {LEAVE_REASON_WORDS.get(reason, reason)}"
        if ended:
            words += f": {CONFERENCE_END_WORDS.get(ended, ended)}"
        return words
    if event.kind in (CallbackKind.RECORDING, CallbackKind.CONFERENCE_RECORDING):
        return f"Recording {event.event}"
    if event.kind == CallbackKind.AMD:
        return f"Answered by {ANSWERED_BY_WORDS.get(event.event, event.event)}"
    return event.event


def _attempt_summary(attempt: DialAttempt) -> str:
    words = f"Attempt {attempt.number}: {attempt.get_outcome_display()}"
    if attempt.decided_by:
        words += f" — {DECIDED_BY_WORDS.get(attempt.decided_by, attempt.decided_by)}"
    return words


def _story_events(dial: DialRequest) -> list[CallbackEvent]:
    """The dial's own callbacks, and the conference-wide ones (start, end) around it."""
    conference_wide = [
        name
        for name, meaning in callback_meaning.CONFERENCE_EVENTS.items()
        if not meaning.participant
    ]
    return list(
        CallbackEvent.objects.filter(
            Q(dial=dial)
            | Q(
                dial__isnull=True,
                conference_id=dial.conference_id,
                kind__in=[CallbackKind.CONFERENCE, CallbackKind.CONFERENCE_RECORDING],
                event__in=[*conference_wide, *callback_meaning.RECORDING_STATUSES],
            )
        ).order_by("received_at", "pk")
    )


def dial_for_viewer(user: Viewer, dial_id: int) -> DialRequest:
    """The dial if this viewer may see it; DialRequest.DoesNotExist otherwise (a 404)."""
    return visible_dials(user).select_related("conference", "operator", "account").get(pk=dial_id)


def dial_story(user: Viewer, dial_id: int) -> DialStory:
    """One dial's whole story: parameters, attempts, Twilio's answer and the timeline."""
    dial = dial_for_viewer(user, dial_id)
    attempts = list(dial.attempt_log.order_by("started_at", "pk"))
    events = _story_events(dial)
    audits = list(AuditEntry.objects.filter(dial=dial).select_related("actor").order_by("at", "pk"))

    steps: list[tuple[datetime, int, Any]] = [
        (attempt.started_at, 0, attempt) for attempt in attempts
    ]
    steps += [(event.received_at, 1, event) for event in events]
    steps += [(entry.at, 2, entry) for entry in audits]
    steps.sort(key=lambda step: (step[0], step[1]))

    state = ParticipantState()
    timeline: list[TimelineEntry] = []
    for at, _order, item in steps:
        if isinstance(item, DialAttempt):
            state = next_state(state, replay_event_from_attempt(item))
            timeline.append(
                TimelineEntry(
                    at=at,
                    source="attempt",
                    kind=ATTEMPT,
                    kind_label="Pipeline",
                    event=item.outcome,
                    summary=_attempt_summary(item),
                    key_params=[
                        (name, str(value))
                        for name, value in (
                            ("HTTP status", item.http_status),
                            ("Error code", item.error_code),
                            ("Latency", f"{item.latency_ms} ms" if item.latency_ms else None),
                            ("Detail", item.detail),
                        )
                        if value
                    ],
                    raw_params=[],
                    state=state,
                    outcome=item.outcome,
                )
            )
        elif isinstance(item, CallbackEvent):
            about_conference = item.dial_id is None
            state = next_state(state, replay_event_from_callback(item))
            params = item.params if isinstance(item.params, Mapping) else {}
            visible = _visible_params(user, dial, params)
            keys = KEY_PARAMETERS.get(item.kind, ())
            timeline.append(
                TimelineEntry(
                    at=at,
                    source="callback",
                    kind=item.kind,
                    kind_label=str(CallbackKind(item.kind).label)
                    if item.kind in CallbackKind.values
                    else item.kind,
                    event=item.event,
                    summary=_callback_summary(item),
                    key_params=[(name, value) for name, value in visible if name in keys],
                    raw_params=visible,
                    sequence_number=item.sequence_number,
                    twilio_timestamp=item.twilio_timestamp,
                    state=state,
                    about_conference=about_conference,
                )
            )
        else:
            timeline.append(
                TimelineEntry(
                    at=at,
                    source="audit",
                    kind="audit",
                    kind_label="Audit",
                    event=item.action,
                    summary=f"{item.actor or 'The system'}: {item.action}",
                    key_params=[(name, _shown_value(value)) for name, value in item.detail.items()]
                    if isinstance(item.detail, Mapping)
                    else [],
                    raw_params=[],
                    outcome=item.outcome,
                )
            )

    verdict, details = explain_outcome(dial)
    params = dial.params if isinstance(dial.params, Mapping) else {}
    response = dial.response if isinstance(dial.response, Mapping) else {}
    return DialStory(
        dial=dial,
        to_display=masking.visible_dial_number(user, dial, dial.to_number),
        from_display=masking.visible_dial_number(user, dial, dial.from_number),
        verdict=verdict,
        details=details,
        params=_visible_params(user, dial, params),
        response=_visible_params(user, dial, response),
        attempts=attempts,
        timeline=timeline,
        final_state=state,
        can_listen=can_listen_to_recordings(user) and bool(dial.recording_sid),
        time_to_answer=durations.time_to_answer(dial),
        time_in_conference=durations.time_in_conference(dial),
    )


def explain_outcome(dial: DialRequest) -> tuple[str, list[str]]:
    """One sentence on how the dial went (why the caller never joined, if not), and details."""
    details: list[str] = []
    if dial.error_code or dial.error_message:
        words = twilio_error_words(dial.error_code, dial.error_message)
        code = f"Twilio error {dial.error_code}: " if dial.error_code else ""
        details.append(f"{code}{words}.")
        if dial.error_more_info:
            details.append(f"More about it: {dial.error_more_info}")
    if dial.sip_response_code and dial.sip_response_code != 200:
        details.append(f"The carrier answered {sip_words(dial.sip_response_code)}.")
    if dial.answered_by and dial.answered_by != "human":
        details.append(
            f"Machine detection: {ANSWERED_BY_WORDS.get(dial.answered_by, dial.answered_by)}."
        )
    if dial.queue_time_ms:
        details.append(
            f"Twilio queued the call for {dial.queue_time_ms / 1000:.1f} s "
            "(the account's calls-per-second limit)."
        )
    if dial.conference.reason_ended:
        reason = dial.conference.reason_ended
        details.append(f"The conference ended: {CONFERENCE_END_WORDS.get(reason, reason)}.")

    status = dial.status
    if status == DialStatus.PENDING:
        if dial.needs_verification:
            return (
                "Not placed yet: checking whether an earlier attempt already reached Twilio.",
                details,
            )
        return "Not placed yet: waiting for a worker to place the call.", details
    if status == DialStatus.PLACING:
        return "Being placed: a worker is asking Twilio for the call now.", details
    if status in (DialStatus.QUEUED, DialStatus.INITIATED):
        return "Twilio is setting up the call.", details
    if status == DialStatus.RINGING:
        return "Ringing: the caller has not answered yet.", details
    if status == DialStatus.IN_PROGRESS:
        if dial.joined_at:
            return "In the conference now.", details
        return "Answered; not in the conference yet.", details
    if status == DialStatus.FAILED and not dial.call_sid:
        reason = dial.failure_reason or "Twilio refused the call"
        return f"Never joined: the call was never placed ({reason}).", details
    if dial.joined_at:
        spent = format_duration(durations.time_in_conference(dial))
        why = LEAVE_REASON_WORDS.get(dial.end_reason, dial.end_reason.replace("_", " "))
        stayed = f" after {spent}" if spent else ""
        return f"Joined the conference and left{stayed}" + (f": {why}." if why else "."), details
    never = "Never joined: "
    if status == DialStatus.BUSY:
        return never + "the line was busy.", details
    if status == DialStatus.NO_ANSWER:
        return never + "nobody answered before Twilio stopped ringing.", details
    if status == DialStatus.CANCELED:
        return never + "the call was canceled before it was answered.", details
    if status == DialStatus.FAILED:
        return never + "the call failed after it was placed.", details
    if dial.answered_at and dial.answered_by and dial.answered_by != "human":
        who = ANSWERED_BY_WORDS.get(dial.answered_by, dial.answered_by)
        return never + f"answered by {who}, and the call ended.", details
    if dial.answered_at:
        why = LEAVE_REASON_WORDS.get(dial.end_reason, dial.end_reason.replace("_", " "))
        return never + "answered, but the call ended before joining" + (
            f": {why}." if why else "."
        ), details
    return never + "the call ended without being answered.", details
