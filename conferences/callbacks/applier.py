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
from django.db.models import QuerySet
from django.utils import timezone

from conferences.callbacks import claims, relay, tally
from conferences.callbacks.batch_lookups import BatchLookups
from conferences.callbacks.claims import unapplied_events
from conferences.callbacks.guarded_update import Guarded, guarded_update, one_of
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


# Its home is `claims`; named here too, where the webhook health page and tests look.
MAX_APPLY_ATTEMPTS = claims.MAX_APPLY_ATTEMPTS


@dataclass(frozen=True)
class ApplyReport:
    applied: int
    failed: int
    more: bool  # events still waiting when the pass ended
    # The pass ended on a batch smaller than `fill`: a trickle, not a backlog.
    trickle: bool = False


@dataclass(frozen=True)
class _Batch:
    applied: int
    failed: list[int]
    first_tries: list[CallbackEvent]


def apply_pending_callbacks(*, time_budget: float = 30.0, fill: int = 1) -> ApplyReport:
    """Apply stored callbacks, oldest lanes first, a batch per transaction.

    A batch (`claims.claim_batch`) is the events of the calls this applier holds, applied
    in order of arrival and marked applied in one transaction: one commit and one claim
    for up to `claims.BATCH` events. Should one event of it raise, the batch is rolled
    back and applied again event by event, each in its own savepoint, so one bad event
    stops no other and is tried again by a later run. Order across calls does not matter
    for correctness (see `apply_event`); oldest first keeps pages current.

    A batch of fewer than `fill` events ends the pass, `trickle` set: under a steady stream
    of callbacks, claiming again at once would apply one or two events per transaction, and
    spend on claims and commits the CPU that the dial workers beside it need.
    """
    if not unapplied_events().exists():
        # Idle, the usual case between bursts: one indexed read, not the batch's
        # transaction, lane locks and queries (the `callbacks` process looks 20 times a
        # second).
        return ApplyReport(applied=0, failed=0, more=False)
    deadline = time.monotonic() + time_budget
    applied = 0
    failed: list[int] = []  # tried again by a later run, not straight away by this one
    trickle = False
    while not trickle and time.monotonic() < deadline:
        try:
            batch = _apply_batch(exclude=failed, one_by_one=False)
        except Exception as error:  # isolated next, where it is logged
            logger.info("A batch of callbacks failed (%s); applying it event by event", error)
            batch = _apply_batch(exclude=failed, one_by_one=True)
        if batch is None:
            return ApplyReport(applied=applied, failed=len(failed), more=False)
        applied += batch.applied
        failed += batch.failed
        # After the commit, in a transaction of its own: a tally row is shared by every
        # event of the hour, and holding one while waiting for a dial row deadlocks.
        tally.note_arrival_orders(batch.first_tries)  # issue 12: webhook health
        trickle = batch.applied + len(batch.failed) < fill
    more = unapplied_events().exclude(pk__in=failed).exists()
    return ApplyReport(applied=applied, failed=len(failed), more=more, trickle=trickle)


def _apply_batch(*, exclude: list[int], one_by_one: bool) -> _Batch | None:
    with transaction.atomic():
        events = claims.claim_batch(exclude=exclude)
        if not events:
            return None
        first_tries = [event for event in events if event.apply_attempts == 0]
        if one_by_one:
            outcomes = {event.pk: apply_stored_event(event) for event in events}
            failed = [pk for pk, ok in outcomes.items() if not ok]
            return _Batch(len(events) - len(failed), failed, first_tries)
        readings = [(event, read_callback(event.kind, event.params)) for event in events]
        lookups = BatchLookups(readings)
        for event, reading in readings:
            correlation = correlate(reading, event.dial_id_in_url or 0, lookups)
            event.dial = correlation.dial
            event.conference = correlation.conference
            event.orphaned = correlation.orphaned
            apply_event(event)
            lookups.after_apply(event, reading)
            if event.apply_attempts == 0:
                relay.schedule_relay(event, correlation.url_dial)
        claims.mark_applied(events, at=timezone.now())
        return _Batch(len(events), [], first_tries)


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

    Each row gets one UPDATE of guarded assignments (`guarded_update`): every rule below is
    a guard on the row as it stood, so the statement is as safe under concurrency as one
    UPDATE per rule was. Conference rows are always updated before dial rows, so
    concurrent callbacks take row locks in one order and cannot deadlock.
    """
    kind = applied_kind(event)
    if kind not in REQUIRED_PARAMETERS:
        return
    reading = read_callback(kind, event.params)
    moment = reading.timestamp or event.received_at
    if event.conference_id is not None and kind == CallbackKind.CONFERENCE:
        _apply_to_conference(event.conference_id, event, reading, moment)
    if event.dial_id is None:
        return
    steps: list[Guarded] = []
    where = None
    if reading.call_sid:
        # The callback may overtake the worker storing the CallSid from Twilio's answer.
        steps.append(Guarded("{call_sid} = ''", values={"call_sid": reading.call_sid}))
        # A dial that holds another CallSid is not changed by this call's callbacks.
        where = Guarded("{call_sid} IN ('', %s)", (reading.call_sid,))
    if kind == CallbackKind.CALL_STATUS:
        steps += _call_status_steps(reading, moment)
    elif kind == CallbackKind.CONFERENCE:
        steps += _participant_steps(reading, moment)
    elif kind == CallbackKind.RECORDING:
        steps += _recording_steps(reading)
    elif kind == CallbackKind.AMD:
        steps.append(_answered_by(reading.event))
    guarded_update(
        DialRequest, event.dial_id, steps, where=where, touch=("updated_at", timezone.now())
    )


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


def _advanced(status: DialStatus) -> Guarded:
    return Guarded(
        "{status} " + one_of(statuses_before(status)),
        (*statuses_before(status),),
        {"status": status},
    )


def _earliest(name: str, moment: datetime) -> Guarded:
    return Guarded(f"{{{name}}} IS NULL OR {{{name}}} > %s", (moment,), {name: moment})


def _latest(name: str, moment: datetime) -> Guarded:
    return Guarded(f"{{{name}}} IS NULL OR {{{name}}} < %s", (moment,), {name: moment})


def _answered_by(answered_by: str) -> Guarded:
    return Guarded("{answered_by} = ''", values={"answered_by": answered_by[:32]})


def _call_status_steps(reading: Reading, moment: datetime) -> list[Guarded]:
    meaning = CALL_STATUSES.get(reading.event)
    if meaning is None:
        return []
    status = meaning.dial_status
    steps = [_advanced(status)]
    if reading.param("AnsweredBy"):
        steps.append(_answered_by(reading.param("AnsweredBy")))
    if status == DialStatus.IN_PROGRESS:
        steps.append(_earliest("answered_at", moment))
    if status not in FINAL_DIAL_STATUSES:
        return steps
    # Only the final state that won fills in how the call ended (the row's status is this
    # one, or moves to it in this very statement); a later, losing final callback stays on
    # the timeline.
    won = "({status} = %s OR {status} " + one_of(statuses_before(status)) + ")"
    won_params = (status.value, *statuses_before(status))
    steps.append(
        Guarded(
            won + " AND {ended_at} IS NULL",
            won_params,
            {
                "ended_at": moment,
                "call_duration_seconds": reading.int_param("CallDuration"),
                "sip_response_code": reading.int_param("SipResponseCode"),
            },
        )
    )
    if status != DialStatus.COMPLETED:
        # A leave's ReasonParticipantLeft says more; this only fills an empty reason.
        steps.append(
            Guarded(won + " AND {end_reason} = ''", won_params, {"end_reason": status.value})
        )
    error_code = reading.int_param("ErrorCode")
    if error_code:
        steps.append(
            Guarded(
                won + " AND {error_code} IS NULL",
                won_params,
                {"error_code": error_code, "error_message": reading.param("ErrorMessage")},
            )
        )
    return steps


def _participant_steps(reading: Reading, moment: datetime) -> list[Guarded]:
    meaning = CONFERENCE_EVENTS.get(reading.event)
    if meaning is None or not meaning.participant:
        return []
    steps: list[Guarded] = []
    if meaning.joins:
        steps.append(_advanced(DialStatus.IN_PROGRESS))
        steps.append(_earliest("joined_at", moment))
        # Joining proves the call was answered, should its in-progress callback be lost.
        steps.append(_earliest("answered_at", moment))
    if meaning.leaves:
        steps.append(_latest("left_at", moment))
        reason = reading.param("ReasonParticipantLeft")
        if reason:
            steps.append(Guarded("", values={"end_reason": reason[:64]}))
    for toggle in Toggle:
        value = meaning.toggles.get(toggle, reading.bool_param(toggle.value))
        if value is not None:
            steps.append(_toggle(toggle, value, reading.sequence_number))
    return steps


def _toggle(toggle: Toggle, value: bool, sequence: int | None) -> Guarded:
    """Take the value of the latest event (highest SequenceNumber) whatever the arrival order."""
    seen = f"{{{toggle.sequence_field}}}"
    if sequence is None:
        return Guarded(f"{seen} IS NULL", values={toggle.field_name: value})
    return Guarded(
        f"{seen} IS NULL OR {seen} < %s",
        (sequence,),
        {toggle.field_name: value, toggle.sequence_field: sequence},
    )


def _recording_steps(reading: Reading) -> list[Guarded]:
    if reading.event == "completed":
        return [
            Guarded(
                "",
                values={
                    "recording_sid": reading.recording_sid,
                    "recording_duration_seconds": reading.int_param("RecordingDuration"),
                },
            )
        ]
    if reading.event in ("in-progress", "paused", "stopped", "processing"):
        return [Guarded("{recording_sid} = ''", values={"recording_sid": reading.recording_sid})]
    return []


def _apply_to_conference(
    conference_id: int, event: CallbackEvent, reading: Reading, moment: datetime
) -> None:
    where = None
    if reading.conference_sid:
        if _sid_may_be_unset(event):
            try:
                with transaction.atomic():
                    Conference.objects.filter(pk=conference_id, sid__isnull=True).update(
                        sid=reading.conference_sid
                    )
            except IntegrityError:
                logger.warning(
                    "Conference SID %s already names another conference row",
                    reading.conference_sid,
                )
        # Only events of the Twilio conference this row stands for change it.
        where = Guarded("{sid} = %s", (reading.conference_sid,))
    steps: list[Guarded] = []
    if reading.sequence_number is not None:
        steps.append(
            Guarded(
                "{last_sequence_number} IS NULL OR {last_sequence_number} < %s",
                (reading.sequence_number,),
                {"last_sequence_number": reading.sequence_number},
            )
        )
    meaning = CONFERENCE_EVENTS.get(reading.event)
    if meaning is not None and meaning.conference_status is not None:
        status = meaning.conference_status
        rank = CONFERENCE_STATUS_RANK[status]
        lower = [value for value, other in CONFERENCE_STATUS_RANK.items() if other < rank]
        steps.append(Guarded("{status} " + one_of(lower), tuple(lower), {"status": status}))
        if status == ConferenceStatus.IN_PROGRESS:
            steps.append(_earliest("started_at", moment))
        else:
            steps.append(
                Guarded(
                    "{ended_at} IS NULL",
                    values={
                        "ended_at": moment,
                        "reason_ended": reading.param("ReasonConferenceEnded")[:64],
                        "call_sid_ending": reading.param("CallSidEndingConference")[:34],
                    },
                )
            )
    guarded_update(Conference, conference_id, steps, where=where)


def _sid_may_be_unset(event: CallbackEvent) -> bool:
    """False when the conference read for this event already had its SID: a SID, once set,
    is never unset, so the savepoint and UPDATE that would set it are skipped."""
    if not CallbackEvent.conference.is_cached(event):
        return True
    return event.conference is None or event.conference.sid is None
