"""Applying stored callbacks to the dials and conferences they concern.

Every change is a conditional UPDATE, so callbacks may arrive in any order, twice, or at
the same time, and the rows still end where the latest facts put them: a call's status
only moves forward, toggles follow the highest SequenceNumber, first and last times keep
the earliest and latest."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from conferences.callbacks import relay, tally
from conferences.callbacks.meaning import (
    CALL_STATUSES,
    CONFERENCE_EVENTS,
    CONFERENCE_STATUS_RANK,
    REQUIRED_PARAMETERS,
    Toggle,
)
from conferences.callbacks.reading import (
    Correlation,
    Reading,
    correlate,
    param_value,
    read_callback,
)
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
            tally.note_arrival_order(event)  # issue 12: webhook health
    more = unapplied_events().exclude(pk__in=failed).exists()
    return ApplyReport(applied=applied, failed=len(failed), more=more)


def apply_stored_event(event: CallbackEvent) -> bool:
    """Correlate one stored event, apply it, and on its first try schedule its relay."""
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
