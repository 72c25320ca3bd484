"""Retries on their own: the lane that brings them back ahead of the broker's queue, and the
first check when a callback is stored but not yet applied."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone

from conferences.dialing import placement, slots
from conferences.models import CallbackEvent, CallbackKind, DialRequest, DialStatus
from tests.pipeline.helpers import stored_dial

pytestmark = pytest.mark.django_db


def _dial(operator, **fields) -> DialRequest:
    return stored_dial(operator, "retried", **fields)


def test_the_retry_lane_hands_out_only_retries_that_are_due(redis_db):
    now = timezone.now()
    slots._add_to_retry_lane(1, now + timedelta(seconds=30))
    slots._add_to_retry_lane(2, now - timedelta(seconds=1))
    slots._add_to_retry_lane(3, now - timedelta(seconds=2))
    # Oldest due first, each once; the one due later stays for later.
    assert slots._pop_due_retry() == 3
    assert slots._pop_due_retry() == 2
    assert slots._pop_due_retry() is None


def test_a_released_dial_is_due_in_the_lane_and_claimable_when_due(
    operator, redis_db, monkeypatch, django_capture_on_commit_callbacks
):
    dial = _dial(operator, status=DialStatus.PLACING, heartbeat_at=timezone.now())
    enqueued: list[int] = []
    monkeypatch.setattr(
        "conferences.dialing.queueing.enqueue_place_dial",
        lambda dial_id, **_: enqueued.append(dial_id),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert placement._release(dial, delay=0.0, verify=True)
    assert enqueued == [dial.pk]  # the broker task stays the fallback
    dial.refresh_from_db()
    assert dial.status == DialStatus.PENDING and dial.needs_verification
    assert slots._pop_due_retry() == dial.pk
    assert placement.claim_dial(dial.pk)


def test_a_stored_callback_not_yet_applied_counts_as_the_call(operator):
    dial = _dial(operator, status=DialStatus.PLACING, heartbeat_at=timezone.now())
    # The receiver stores the event with the dial id from our URL; a worker links it later.
    CallbackEvent.objects.create(
        kind=CallbackKind.CALL_STATUS,
        dial=None,
        dial_id_in_url=dial.pk,
        account_sid=dial.account.account_sid,
        call_sid="CA" + "2" * 32,
        event="initiated",
        params={},
        dedupe_key="retried-1",
    )
    found = placement.find_existing_call(dial)
    assert found is not None
    assert (found.check, found.call_sid) == ("callback", "CA" + "2" * 32)


def test_an_unapplied_conference_event_at_this_dials_url_is_not_taken_for_its_call(
    operator, monkeypatch
):
    dial = _dial(operator, status=DialStatus.PLACING, heartbeat_at=timezone.now())
    # Twilio reports every participant to the first participant's conference URL: this
    # event, stored but not yet applied, may be about somebody else's call.
    CallbackEvent.objects.create(
        kind=CallbackKind.CONFERENCE,
        dial=None,
        dial_id_in_url=dial.pk,
        account_sid=dial.account.account_sid,
        call_sid="CA" + "3" * 32,
        conference_sid="CF" + "3" * 32,
        event="participant-join",
        params={},
        dedupe_key="retried-2",
    )
    asked: list[str] = []

    def nothing_found(check: str) -> Callable[..., list[object]]:
        def lookup(*args: object, **kwargs: object) -> list[object]:
            asked.append(check)
            return []

        return lookup

    monkeypatch.setattr(placement.gateway, "find_conferences", nothing_found("conf"))
    monkeypatch.setattr(placement.gateway, "find_calls", nothing_found("calls"))
    assert placement.find_existing_call(dial) is None
    assert asked == ["conf", "calls"]  # checks 2 and 3 were asked: check 1 found nothing
