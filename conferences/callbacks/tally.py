"""Tallies written on the webhook path: duplicates (receiver) and callbacks that arrived
after a later one of the same call or conference (applier)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db.models import Exists, OuterRef

from conferences.core.counters import count_in_hour
from conferences.models import (
    CallbackEvent,
    CallbackKind,
    CallbackTally,
    CallbackTallyMeasure,
)

# --- Tallies written on the webhook path (receiver and applier) -----------------------


def _tally(kind: str, measure: str, *, at: datetime | None = None) -> None:
    count_in_hour(CallbackTally, at=at, kind=kind, measure=measure)


def count_duplicate(kind: str) -> None:
    """One more delivery of a callback already stored (Twilio or a proxy sent it again)."""
    _tally(kind, CallbackTallyMeasure.DUPLICATE)


def note_arrival_order(event: CallbackEvent) -> None:
    """Count the event if a later one (higher SequenceNumber) of its call or conference
    arrived first. Only indexed columns are searched: the dial's or conference's events."""
    if event.sequence_number is None:
        return
    if event.kind == CallbackKind.CALL_STATUS and event.dial_id is not None:
        earlier = CallbackEvent.objects.filter(dial_id=event.dial_id, call_sid=event.call_sid)
    elif event.kind == CallbackKind.CONFERENCE and event.conference_id is not None:
        earlier = CallbackEvent.objects.filter(
            conference_id=event.conference_id, conference_sid=event.conference_sid
        )
    else:
        return
    # Ids follow arrival (the receiver inserts as callbacks come in), so "arrived first" is
    # "has a smaller id", even when the applier gets to the events later and in a batch.
    later_arrived_first = earlier.filter(
        kind=event.kind, sequence_number__gt=event.sequence_number, pk__lt=event.pk
    ).exists()
    if later_arrived_first:
        _tally(event.kind, CallbackTallyMeasure.OUT_OF_ORDER, at=event.received_at)


def note_arrival_orders(events: Sequence[CallbackEvent]) -> None:
    """`note_arrival_order` for a batch: one query finds those a later event overtook."""
    candidates = [event for event in events if event.sequence_number is not None]
    if not candidates:
        return
    others = CallbackEvent.objects.filter(
        kind=OuterRef("kind"),
        sequence_number__gt=OuterRef("sequence_number"),
        pk__lt=OuterRef("pk"),
    )
    by_dial = others.filter(dial_id=OuterRef("dial_id"), call_sid=OuterRef("call_sid"))
    by_conference = others.filter(
        conference_id=OuterRef("conference_id"), conference_sid=OuterRef("conference_sid")
    )
    batch = CallbackEvent.objects.filter(pk__in=[event.pk for event in candidates])
    # One query per kind: each EXISTS then searches one index (the dial's or conference's).
    overtaken = [
        *batch.filter(
            Exists(by_dial), kind=CallbackKind.CALL_STATUS, dial_id__isnull=False
        ).values_list("kind", "received_at"),
        *batch.filter(
            Exists(by_conference), kind=CallbackKind.CONFERENCE, conference_id__isnull=False
        ).values_list("kind", "received_at"),
    ]
    for kind, received_at in overtaken:
        _tally(kind, CallbackTallyMeasure.OUT_OF_ORDER, at=received_at)
