"""Reconciliation does not ask Twilio about a dial or conference whose callback is stored
and still to apply: the applier is about to tell the same truth, and asking would cost a
request and write a redundant reconciled event (two CI runs once saw one, in the few
milliseconds between a callback's storing and its applying)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from conferences.callbacks.claims import MAX_APPLY_ATTEMPTS
from conferences.models import (
    CallbackEvent,
    CallbackKind,
    Conference,
    ConferenceStatus,
    DialRequest,
    DialStatus,
)
from conferences.operations import expectations
from tests.pipeline.helpers import stored_dial

pytestmark = pytest.mark.django_db

CALL_SID = "CA" + "4" * 32
CONFERENCE_SID = "CF" + "4" * 32


def _overdue_ringing(operator) -> DialRequest:
    dial = stored_dial(
        operator, "news", status=DialStatus.RINGING, call_sid=CALL_SID, params={"Timeout": "5"}
    )
    DialRequest.objects.filter(pk=dial.pk).update(updated_at=timezone.now() - timedelta(minutes=10))
    return dial


def _stored(kind: str, n: int, **fields) -> CallbackEvent:
    return CallbackEvent.objects.create(
        kind=kind,
        account_sid="AC" + "0" * 31 + "1",
        event="no-answer" if kind == CallbackKind.CALL_STATUS else "participant-leave",
        params={},
        dedupe_key=f"news-{n}",
        **fields,
    )


def _due() -> set[int]:
    deadlines = expectations.Deadlines.from_settings()
    return {due.pk for due in expectations.due_dials(timezone.now(), deadlines, limit=50)}


@pytest.mark.parametrize(
    "news",
    [
        {"kind": CallbackKind.CALL_STATUS, "by_url": True},
        {"kind": CallbackKind.CONFERENCE, "by_url": False},
    ],
    ids=["its-call-status-by-its-url", "a-conference-event-by-its-call"],
)
def test_an_overdue_dial_with_a_callback_still_to_apply_is_not_asked_about(operator, news):
    dial = _overdue_ringing(operator)
    assert _due() == {dial.pk}
    event = _stored(
        news["kind"],
        1,
        call_sid=CALL_SID,
        dial_id_in_url=dial.pk if news["by_url"] else None,
    )
    assert _due() == set()

    CallbackEvent.objects.filter(pk=event.pk).update(applied_at=timezone.now())
    assert _due() == {dial.pk}  # applied and still overdue: now it is asked about


def test_a_callback_that_failed_to_apply_holds_nothing_back(operator):
    dial = _overdue_ringing(operator)
    _stored(
        CallbackKind.CALL_STATUS,
        1,
        call_sid=CALL_SID,
        dial_id_in_url=dial.pk,
        apply_attempts=MAX_APPLY_ATTEMPTS,
    )
    assert _due() == {dial.pk}


def test_a_conference_event_in_the_url_of_another_dial_does_not_hold_this_one_back(operator):
    dial = _overdue_ringing(operator)
    _stored(CallbackKind.CONFERENCE, 1, call_sid="CA" + "5" * 32, dial_id_in_url=dial.pk)
    assert _due() == {dial.pk}


def test_a_conference_past_its_end_with_its_end_still_to_apply_is_not_asked_about(operator):
    dial = stored_dial(
        operator,
        "ended",
        status=DialStatus.COMPLETED,
        call_sid=CALL_SID,
        joined_at=timezone.now() - timedelta(minutes=12),
        left_at=timezone.now() - timedelta(minutes=11),
    )
    DialRequest.objects.filter(pk=dial.pk).update(updated_at=timezone.now() - timedelta(minutes=10))
    Conference.objects.filter(pk=dial.conference_id).update(
        sid=CONFERENCE_SID, status=ConferenceStatus.IN_PROGRESS
    )

    def past_their_end() -> list[int]:
        deadlines = expectations.Deadlines.from_settings()
        found = expectations.conferences_past_their_end(timezone.now(), deadlines, limit=10)
        return [pk for pk, _ in found]

    assert past_their_end() == [dial.conference_id]
    _stored(CallbackKind.CONFERENCE, 2, conference_sid=CONFERENCE_SID)
    assert past_their_end() == []
