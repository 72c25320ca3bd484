"""What Twilio's status callbacks mean for our records.

One table maps Twilio's values to ours; one function (`apply_event`) applies a stored
event to the dial and conference it concerns. Every change is a conditional UPDATE, so
callbacks may arrive in any order, twice, or at the same time, and the rows still end
where the latest facts put them: a call's status only moves forward, toggles follow the
highest SequenceNumber, first and last times keep the earliest and latest.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from functools import cache
from typing import Any

from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import DurationField, ExpressionWrapper, F, Field, Q, QuerySet
from django.utils import timezone

from conferences.models import (
    FINAL_DIAL_STATUSES,
    CallbackEvent,
    CallbackKind,
    Conference,
    ConferenceStatus,
    DialRequest,
    DialStatus,
    statuses_before,
)

logger = logging.getLogger(__name__)

# Parameters as received: one value, or a list when Twilio repeated the name.
Params = Mapping[str, str | Sequence[str]]

# The kinds in our callback URLs (conferences/callback_urls.py); "reconciled" is not one.
WEBHOOK_KINDS: frozenset[str] = frozenset(
    {
        CallbackKind.CALL_STATUS,
        CallbackKind.CONFERENCE,
        CallbackKind.RECORDING,
        CallbackKind.CONFERENCE_RECORDING,
        CallbackKind.AMD,
    }
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
RECORDING_STATUSES: frozenset[str] = frozenset(
    {"in-progress", "paused", "stopped", "processing", "completed", "absent", "failed"}
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

# A SID is its two-letter prefix and 32 hex digits; anything else is not from Twilio.
SID_PATTERNS: dict[str, re.Pattern[str]] = {
    name: re.compile(rf"{prefix}[0-9a-fA-F]{{32}}")
    for name, prefix in (
        ("AccountSid", "AC"),
        ("CallSid", "CA"),
        ("ConferenceSid", "CF"),
        ("RecordingSid", "RE"),
    )
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


# --- Reading a callback ---------------------------------------------------------------


class MalformedCallback(ValueError):
    """The callback lacks (or garbles) an identifier its kind needs."""

    def __init__(self, kind: str, problems: Sequence[str]) -> None:
        super().__init__(f"{kind} callback: {', '.join(problems)}")
        self.problems = list(problems)


def param_value(params: Params, name: str) -> str:
    """A parameter's value; of a repeated name the last, as QueryDict and CallbackEvent.param."""
    value = params.get(name, "")
    if isinstance(value, str):
        return value
    return str(value[-1]) if value else ""


def _int_or_none(value: str) -> int | None:
    try:
        number = int(value.strip())
    except ValueError:
        return None
    return number if -_INT_MAX <= number <= _INT_MAX else None


def _bool_or_none(value: str) -> bool | None:
    return {"true": True, "false": False}.get(value.strip().lower())


def _timestamp_or_none(value: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    # "-0000" means "UTC, zone unknown" in RFC 2822; Python returns it naive.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Reading:
    """The parts of one callback this app acts on, read once from its parameters."""

    kind: str
    params: Params
    account_sid: str
    event: str
    call_sid: str
    conference_sid: str
    recording_sid: str
    label: str
    sequence_number: int | None
    timestamp: datetime | None

    @property
    def known(self) -> bool:
        return is_known_value(self.kind, self.event)

    def param(self, name: str) -> str:
        return param_value(self.params, name)

    def int_param(self, name: str) -> int | None:
        return _int_or_none(self.param(name))

    def bool_param(self, name: str) -> bool | None:
        return _bool_or_none(self.param(name))

    def dedupe_key(self) -> str:
        """Equal for two deliveries of one callback, different for two callbacks."""
        if self.kind in (CallbackKind.RECORDING, CallbackKind.CONFERENCE_RECORDING):
            parts = [self.kind, self.recording_sid, self.event]
        elif self.kind == CallbackKind.AMD:
            parts = [self.kind, self.call_sid, self.event]
        else:
            subject = (
                self.call_sid if self.kind == CallbackKind.CALL_STATUS else self.conference_sid
            )
            # Without a SequenceNumber the Timestamp tells two callbacks apart.
            order = str(self.sequence_number) if self.sequence_number is not None else ""
            moment = "" if order else self.param("Timestamp")
            parts = [self.kind, subject, order, self.event, self.call_sid, moment]
        key = ":".join(parts)
        if len(key) > 200:  # an odd, very long value must still fit the unique column
            key = f"{self.kind}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"
        return key


def read_callback(kind: str, params: Params) -> Reading:
    """Read a callback's parameters; MalformedCallback when its identifiers are missing."""
    problems = [
        f"{name} missing" for name in REQUIRED_PARAMETERS[kind] if not param_value(params, name)
    ]
    for name, pattern in SID_PATTERNS.items():
        value = param_value(params, name)
        if value and not pattern.fullmatch(value):
            problems.append(f"{name} is not a SID")
    if problems:
        raise MalformedCallback(kind, problems)
    return Reading(
        kind=kind,
        params=params,
        account_sid=param_value(params, "AccountSid"),
        event=param_value(params, EVENT_PARAMETER[kind]),
        call_sid=param_value(params, "CallSid"),
        conference_sid=param_value(params, "ConferenceSid"),
        recording_sid=param_value(params, "RecordingSid"),
        label=param_value(params, "ParticipantLabel"),
        sequence_number=_int_or_none(param_value(params, "SequenceNumber")),
        timestamp=_timestamp_or_none(param_value(params, "Timestamp")),
    )


# --- Correlation ----------------------------------------------------------------------

_BIGINT_MAX = 2**63 - 1


@dataclass(frozen=True)
class Correlation:
    dial: DialRequest | None  # the dial the event is about (None: conference-wide or unknown)
    conference: Conference | None
    url_dial: DialRequest | None  # the dial the URL names: its relay targets apply
    orphaned: bool  # the URL names no dial of the signing account


def _is_about_a_participant(reading: Reading) -> bool:
    meaning = CONFERENCE_EVENTS.get(reading.event)
    if meaning is not None:
        return meaning.participant
    return bool(reading.call_sid or reading.label)  # an event we don't know yet


def correlate(reading: Reading, dial_id_in_url: int) -> Correlation:
    """Find the dial and conference a callback is about, even before the CallSid is stored.

    The URL's dial id comes first, then ParticipantLabel within that dial's conference,
    then the CallSid. A dial of another account never matches.
    """
    url_dial = None
    if 0 < dial_id_in_url <= _BIGINT_MAX:
        url_dial = (
            DialRequest.objects.select_related("conference")
            .filter(pk=dial_id_in_url, account__account_sid=reading.account_sid)
            .first()
        )

    conference: Conference | None = None
    if url_dial is not None:
        own = url_dial.conference
        if not reading.conference_sid or own.sid in (None, reading.conference_sid):
            conference = own
    if conference is None and reading.conference_sid:
        conference = Conference.objects.filter(
            account__account_sid=reading.account_sid, sid=reading.conference_sid
        ).first()

    by_call_sid = DialRequest.objects.select_related("conference").filter(
        account__account_sid=reading.account_sid, call_sid=reading.call_sid
    )
    dial: DialRequest | None = None
    if reading.kind == CallbackKind.CONFERENCE_RECORDING:
        pass  # about the whole conference
    elif reading.kind == CallbackKind.CONFERENCE:
        # Twilio calls the first participant's conference URL about every participant.
        if _is_about_a_participant(reading):
            if reading.label and conference is not None:
                dial = conference.dials.filter(label=reading.label).first()
            if dial is None and reading.call_sid:
                dial = by_call_sid.first()
    elif url_dial is not None and url_dial.call_sid in ("", reading.call_sid):
        dial = url_dial
    else:
        dial = (by_call_sid.first() if reading.call_sid else None) or url_dial
    if dial is not None and conference is None:
        conference = dial.conference
    return Correlation(
        dial=dial, conference=conference, url_dial=url_dial, orphaned=url_dial is None
    )


# --- Recording a callback -------------------------------------------------------------


def storable_params(params: Mapping[str, Sequence[str]]) -> dict[str, str | list[str]]:
    """Parameters for the JSON column: a single value as is, a repeated name as a list."""
    return {
        name: values[0] if len(values) == 1 else list(values) for name, values in params.items()
    }


@dataclass(frozen=True)
class StoredCallback:
    reading: Reading
    event_id: int | None  # None: a second delivery of a callback already stored

    @property
    def created(self) -> bool:
        return self.event_id is not None


# What the receiver writes; correlation (dial, conference, orphaned) is the applier's.
_STORED_FIELDS = (
    "kind",
    "account_sid",
    "call_sid",
    "conference_sid",
    "event",
    "sequence_number",
    "twilio_timestamp",
    "received_at",
    "params",
    "dedupe_key",
    "unknown_value",
    "dial_id_in_url",
    "orphaned",
    "apply_attempts",
    "apply_error",
)


@cache
def _stored_fields() -> list[Field[Any, Any]]:
    return [CallbackEvent._meta.get_field(name) for name in _STORED_FIELDS]  # type: ignore[misc]


@cache
def _insert_sql() -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(field.column)) for field in _stored_fields())
    placeholders = ", ".join(["%s"] * len(_STORED_FIELDS))
    # Identifiers come from the model, every value is a parameter.
    return (
        f"INSERT INTO {quote(CallbackEvent._meta.db_table)} ({columns}) "  # noqa: S608
        f"VALUES ({placeholders}) "
        f"ON CONFLICT ({quote('dedupe_key')}) DO NOTHING RETURNING {quote('id')}"
    )


def store_callback(
    kind: str,
    params: Mapping[str, Sequence[str]],
    *,
    dial_id_in_url: int,
    received_at: datetime | None = None,
) -> StoredCallback:
    """Store a verified callback once: the receiver's only database work, one statement.

    `INSERT … ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`, committed on its own, so
    the event is durable before Twilio hears 2xx, a second delivery stores nothing, and no
    row of ours is locked while Twilio waits. The ORM would need a savepoint and a second
    query to tell a duplicate apart. The `callbacks` process applies it (`apply_pending_callbacks`).
    """
    stored_params = storable_params(params)
    reading = read_callback(kind, stored_params)
    event = CallbackEvent(
        kind=kind,
        account_sid=reading.account_sid,
        call_sid=reading.call_sid,
        conference_sid=reading.conference_sid,
        event=reading.event[:64],
        sequence_number=reading.sequence_number,
        twilio_timestamp=reading.timestamp,
        received_at=received_at or timezone.now(),
        params=stored_params,
        dedupe_key=reading.dedupe_key(),
        unknown_value=not reading.known,
        dial_id_in_url=dial_id_in_url if 0 <= dial_id_in_url <= _BIGINT_MAX else None,
    )
    fields = _stored_fields()
    values = [field.get_db_prep_save(getattr(event, field.attname), connection) for field in fields]
    return StoredCallback(reading=reading, event_id=_insert_once(values))


def _insert_once(values: Sequence[Any]) -> int | None:
    """Run the insert; on a connection that turns out dead, reconnect and run it again.

    Safe to repeat: a second run of an insert that did commit finds its dedupe key taken.
    So this statement skips Django's per-request health check (CONN_HEALTH_CHECKS: a
    `SELECT 1` before the request's first query), which would double its round trips.
    """
    retry = not connection.in_atomic_block  # inside a transaction, the caller decides
    if retry and connection.connection is not None:
        # Django's own flag (BaseDatabaseWrapper), which the stubs leave out; a test fails
        # should Django stop honouring it.
        connection.health_check_done = True  # type: ignore[attr-defined]
    try:
        return _execute_insert(values)
    except (InterfaceError, OperationalError):
        if not retry:
            raise
        logger.warning("Storing a callback failed on a dead connection; reconnecting")
        connection.close()
        return _execute_insert(values)


def _execute_insert(values: Sequence[Any]) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(), values)
        row = cursor.fetchone()
    return row[0] if row else None


# --- Applying an event ----------------------------------------------------------------

# An event whose application raised (a bug, not bad input: that was refused at the door)
# is tried this many times, then left unapplied and counted on the webhook health page.
MAX_APPLY_ATTEMPTS = 3


@dataclass(frozen=True)
class ApplyReport:
    applied: int
    failed: int
    more: bool  # the time budget ran out with events still waiting


def unapplied_events() -> QuerySet[CallbackEvent]:
    """Stored, not yet applied, and still worth trying (the partial index `callback_unapplied`)."""
    return CallbackEvent.objects.filter(
        applied_at__isnull=True, apply_attempts__lt=MAX_APPLY_ATTEMPTS
    )


def apply_pending_callbacks(*, time_budget: float = 30.0) -> ApplyReport:
    """Apply stored callbacks, oldest first, each in its own short transaction.

    Appliers share the backlog through `SKIP LOCKED`; one event per transaction keeps row
    locks to one conference and one dial at a time, so two appliers never deadlock. Order
    does not matter for correctness (see `apply_event`); oldest first keeps pages current.
    """
    from conferences import metrics  # it reads this module's tables

    deadline = time.monotonic() + time_budget
    applied = 0
    failed: list[int] = []  # tried again by a later run, not straight away by this one
    while time.monotonic() < deadline:
        with transaction.atomic():
            event = (
                unapplied_events()
                .exclude(pk__in=failed)
                .select_for_update(skip_locked=True)
                .order_by("pk")
                .first()
            )
            if event is None:
                return ApplyReport(applied=applied, failed=len(failed), more=False)
            first_try = event.apply_attempts == 0
            if apply_stored_event(event):
                applied += 1
            else:
                failed.append(event.pk)
        if first_try:
            # After the commit, in a transaction of its own: a tally row is shared by every
            # event of the hour, and holding one while waiting for a dial row deadlocks.
            metrics.note_arrival_order(event)  # issue 12: webhook health
    more = unapplied_events().exclude(pk__in=failed).exists()
    return ApplyReport(applied=applied, failed=len(failed), more=more)


def apply_stored_event(event: CallbackEvent) -> bool:
    """Correlate one stored event, apply it, and on its first try schedule its relay."""
    from conferences import relay  # it reads this module's tables

    first_try = event.apply_attempts == 0
    event.apply_attempts += 1
    correlation: Correlation | None = None
    try:
        with transaction.atomic():
            correlation = correlate(
                read_callback(event.kind, event.params), event.dial_id_in_url or 0
            )
            event.dial = correlation.dial
            event.conference = correlation.conference
            event.orphaned = correlation.orphaned
            apply_event(event)
    except Exception as error:  # one bad event must not stop the others
        logger.exception("Could not apply callback event #%s (%s)", event.pk, event.kind)
        event.apply_error = f"{type(error).__name__}: {error}"[:500]
        if correlation is None:
            event.dial, event.conference = None, None
    else:
        event.applied_at = timezone.now()
        event.apply_error = ""
    event.save(
        update_fields=[
            "dial",
            "conference",
            "orphaned",
            "applied_at",
            "apply_attempts",
            "apply_error",
        ]
    )
    if first_try and correlation is not None:
        relay.schedule_relay(event, correlation.url_dial)
    return event.applied_at is not None


def apply_event(event: CallbackEvent) -> None:
    """Apply one stored callback to its conference and dial: in any order, and twice, too.

    Conference rows are always updated before dial rows, so concurrent callbacks take
    row locks in one order and cannot deadlock.
    """
    kind = applied_kind(event)
    if kind not in REQUIRED_PARAMETERS:
        return
    reading = read_callback(kind, event.params)
    moment = reading.timestamp or event.received_at
    if event.conference_id is not None and kind == CallbackKind.CONFERENCE:
        _apply_to_conference(event.conference_id, reading, moment)
    if event.dial_id is None:
        return
    if reading.call_sid:
        # The callback may overtake the worker storing the CallSid from Twilio's answer.
        DialRequest.objects.filter(pk=event.dial_id, call_sid="").update(
            call_sid=reading.call_sid, updated_at=timezone.now()
        )
    rows = DialRequest.objects.filter(pk=event.dial_id)
    if reading.call_sid:
        # A dial that holds another CallSid is not changed by this call's callbacks.
        rows = rows.filter(call_sid=reading.call_sid)
    if kind == CallbackKind.CALL_STATUS:
        _apply_call_status(rows, reading, moment)
    elif kind == CallbackKind.CONFERENCE:
        _apply_participant_event(rows, reading, moment)
    elif kind == CallbackKind.RECORDING:
        _apply_recording(rows, reading)
    elif kind == CallbackKind.AMD:
        _set_answered_by(rows, reading.event)


# A reconciled event (issue 12, conferences/reconcile.py) states what the API said in the
# words of the callback kind it stands in for, named by this parameter, so the very same
# forward-only rules apply it.
RECONCILED_AS = "ReconciledAs"


def applied_kind(event: CallbackEvent) -> str:
    """The callback kind whose rules apply to the event; a reconciled one names its own."""
    if event.kind == CallbackKind.RECONCILED:
        return param_value(event.params, RECONCILED_AS)
    return event.kind


def advance_dial_status(dial_id: int, status: DialStatus, **fields: Any) -> bool:
    """Move a dial's status forward: never back, never out of a final state."""
    return _advance(DialRequest.objects.filter(pk=dial_id), status, **fields)


def _advance(rows: QuerySet[DialRequest], status: DialStatus, **fields: Any) -> bool:
    updated = rows.filter(status__in=statuses_before(status)).update(
        status=status, updated_at=timezone.now(), **fields
    )
    return updated > 0


def _now_fields(rows: QuerySet[Any]) -> dict[str, Any]:
    return {"updated_at": timezone.now()} if rows.model is DialRequest else {}


def _keep_earliest(rows: QuerySet[Any], name: str, moment: datetime) -> None:
    rows.filter(Q(**{f"{name}__isnull": True}) | Q(**{f"{name}__gt": moment})).update(
        **{name: moment}, **_now_fields(rows)
    )


def _keep_latest(rows: QuerySet[Any], name: str, moment: datetime) -> None:
    rows.filter(Q(**{f"{name}__isnull": True}) | Q(**{f"{name}__lt": moment})).update(
        **{name: moment}, **_now_fields(rows)
    )


def _apply_call_status(rows: QuerySet[DialRequest], reading: Reading, moment: datetime) -> None:
    meaning = CALL_STATUSES.get(reading.event)
    if meaning is None:
        return
    status = meaning.dial_status
    _advance(rows, status)
    if reading.param("AnsweredBy"):
        _set_answered_by(rows, reading.param("AnsweredBy"))
    if status == DialStatus.IN_PROGRESS:
        _keep_earliest(rows, "answered_at", moment)
    if status not in FINAL_DIAL_STATUSES:
        return
    # Only the final state that won fills in how the call ended; a later, losing final
    # callback stays on the timeline.
    ended = rows.filter(status=status)
    ended.filter(ended_at__isnull=True).update(
        ended_at=moment,
        call_duration_seconds=reading.int_param("CallDuration"),
        sip_response_code=reading.int_param("SipResponseCode"),
        updated_at=timezone.now(),
    )
    if status != DialStatus.COMPLETED:
        # A leave's ReasonParticipantLeft says more; this only fills an empty reason.
        ended.filter(end_reason="").update(end_reason=status.value)
    error_code = reading.int_param("ErrorCode")
    if error_code:
        ended.filter(error_code__isnull=True).update(
            error_code=error_code, error_message=reading.param("ErrorMessage")
        )


def _apply_participant_event(
    rows: QuerySet[DialRequest], reading: Reading, moment: datetime
) -> None:
    meaning = CONFERENCE_EVENTS.get(reading.event)
    if meaning is None or not meaning.participant:
        return
    if meaning.joins:
        _advance(rows, DialStatus.IN_PROGRESS)
        _keep_earliest(rows, "joined_at", moment)
        # Joining proves the call was answered, should its in-progress callback be lost.
        _keep_earliest(rows, "answered_at", moment)
    if meaning.leaves:
        _keep_latest(rows, "left_at", moment)
        reason = reading.param("ReasonParticipantLeft")
        if reason:
            rows.update(end_reason=reason[:64], updated_at=timezone.now())
    for toggle in Toggle:
        value = meaning.toggles.get(toggle, reading.bool_param(toggle.value))
        if value is not None:
            _set_toggle(rows, toggle, value, reading.sequence_number)


def _set_toggle(
    rows: QuerySet[DialRequest], toggle: Toggle, value: bool, sequence: int | None
) -> None:
    """Take the value of the latest event (highest SequenceNumber) whatever the arrival order."""
    sequence_field = toggle.sequence_field
    unset = Q(**{f"{sequence_field}__isnull": True})
    if sequence is None:
        rows.filter(unset).update(**{toggle.field_name: value}, updated_at=timezone.now())
        return
    rows.filter(unset | Q(**{f"{sequence_field}__lt": sequence})).update(
        **{toggle.field_name: value, sequence_field: sequence}, updated_at=timezone.now()
    )


def _apply_recording(rows: QuerySet[DialRequest], reading: Reading) -> None:
    if reading.event == "completed":
        rows.update(
            recording_sid=reading.recording_sid,
            recording_duration_seconds=reading.int_param("RecordingDuration"),
            updated_at=timezone.now(),
        )
    elif reading.event in ("in-progress", "paused", "stopped", "processing"):
        rows.filter(recording_sid="").update(
            recording_sid=reading.recording_sid, updated_at=timezone.now()
        )


def _set_answered_by(rows: QuerySet[DialRequest], answered_by: str) -> None:
    rows.filter(answered_by="").update(answered_by=answered_by[:32], updated_at=timezone.now())


def _apply_to_conference(conference_id: int, reading: Reading, moment: datetime) -> None:
    rows = Conference.objects.filter(pk=conference_id)
    if reading.conference_sid:
        try:
            with transaction.atomic():
                rows.filter(sid__isnull=True).update(sid=reading.conference_sid)
        except IntegrityError:
            logger.warning(
                "Conference SID %s already names another conference row", reading.conference_sid
            )
        # Only events of the Twilio conference this row stands for change it.
        rows = rows.filter(sid=reading.conference_sid)
    if reading.sequence_number is not None:
        rows.filter(
            Q(last_sequence_number__isnull=True)
            | Q(last_sequence_number__lt=reading.sequence_number)
        ).update(last_sequence_number=reading.sequence_number)
    meaning = CONFERENCE_EVENTS.get(reading.event)
    if meaning is None or meaning.conference_status is None:
        return
    status = meaning.conference_status
    rank = CONFERENCE_STATUS_RANK[status]
    lower = [value for value, other in CONFERENCE_STATUS_RANK.items() if other < rank]
    rows.filter(status__in=lower).update(status=status)
    if status == ConferenceStatus.IN_PROGRESS:
        _keep_earliest(rows, "started_at", moment)
    else:
        rows.filter(ended_at__isnull=True).update(
            ended_at=moment,
            reason_ended=reading.param("ReasonConferenceEnded")[:64],
            call_sid_ending=reading.param("CallSidEndingConference")[:34],
        )


# --- Durations for pages --------------------------------------------------------------


def time_to_answer(dial: DialRequest) -> timedelta | None:
    """From the operator's request to the caller answering."""
    if dial.answered_at is None:
        return None
    return dial.answered_at - dial.created_at


def time_in_conference(dial: DialRequest) -> timedelta | None:
    if dial.joined_at is None or dial.left_at is None:
        return None
    return dial.left_at - dial.joined_at


# Annotations for list pages, e.g. DialRequest.objects.annotate(**DURATION_ANNOTATIONS).
DURATION_ANNOTATIONS: dict[str, Any] = {
    "time_to_answer": ExpressionWrapper(
        F("answered_at") - F("created_at"), output_field=DurationField()
    ),
    "time_in_conference": ExpressionWrapper(
        F("left_at") - F("joined_at"), output_field=DurationField()
    ),
}
