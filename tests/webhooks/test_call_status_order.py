"""A call's status only moves forward, whatever order its callbacks arrive in."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from conferences.callbacks import applier as callback_applier
from conferences.callbacks import durations
from conferences.models import CallbackEvent, DialStatus

pytestmark = pytest.mark.django_db

FOUR_CALLBACKS = [
    "call-status-initiated",
    "call-status-ringing",
    "call-status-in-progress",
    "call-status-completed",
]
ANSWERED_AT = datetime(2025, 1, 14, 16, 2, 19, tzinfo=UTC)
ENDED_AT = datetime(2025, 1, 14, 16, 4, 6, tzinfo=UTC)


@pytest.mark.parametrize("order", list(itertools.permutations(FOUR_CALLBACKS)), ids="-".join)
def test_every_order_of_the_four_status_callbacks_ends_completed(twilio, dial, order):
    for name in order:
        assert twilio.fixture(dial, name).status_code == 204
    dial.refresh_from_db()
    assert dial.status == DialStatus.COMPLETED
    assert dial.answered_at == ANSWERED_AT
    assert dial.ended_at == ENDED_AT
    assert dial.call_duration_seconds == 107
    assert dial.sip_response_code == 200
    assert dial.end_reason == ""
    # Every callback stays on the timeline, whatever its effect.
    assert CallbackEvent.objects.filter(dial=dial).count() == 4


def test_a_late_ringing_never_overwrites_completed(twilio, dial):
    twilio.fixture(dial, "call-status-completed")
    twilio.fixture(dial, "call-status-ringing")
    dial.refresh_from_db()
    assert dial.status == DialStatus.COMPLETED


def test_the_status_walks_forward_through_each_callback(twilio, dial):
    seen = []
    for name in FOUR_CALLBACKS:
        twilio.fixture(dial, name)
        dial.refresh_from_db()
        seen.append(dial.status)
    assert seen == ["initiated", "ringing", "in-progress", "completed"]


def test_the_first_final_state_wins(twilio, dial):
    twilio.fixture(dial, "call-status-busy")
    twilio.fixture(dial, "call-status-completed")
    dial.refresh_from_db()
    assert dial.status == DialStatus.BUSY
    # The losing final callback fills in nothing.
    assert dial.sip_response_code == 486
    assert dial.call_duration_seconds == 0
    assert dial.end_reason == "busy"


@pytest.mark.parametrize(
    ("name", "status", "sip"),
    [
        ("call-status-busy", DialStatus.BUSY, 486),
        ("call-status-no-answer", DialStatus.NO_ANSWER, 487),
        ("call-status-failed", DialStatus.FAILED, 404),
        ("call-status-canceled", DialStatus.CANCELED, 487),
    ],
)
def test_an_unanswered_call_records_why_it_ended(twilio, dial, name, status, sip):
    twilio.fixture(dial, "call-status-initiated")
    twilio.fixture(dial, name)
    dial.refresh_from_db()
    assert dial.status == status
    assert dial.end_reason == status.value
    assert dial.sip_response_code == sip
    assert dial.answered_at is None
    assert durations.time_to_answer(dial) is None


def test_a_failed_call_keeps_twilios_error_when_it_gives_one(twilio, dial):
    twilio.fixture(dial, "call-status-failed", ErrorCode="13224", ErrorMessage="Invalid number")
    dial.refresh_from_db()
    assert (dial.error_code, dial.error_message) == (13224, "Invalid number")


def test_a_worker_status_never_moves_a_dial_back(twilio, dial):
    twilio.fixture(dial, "call-status-ringing")
    assert not callback_applier.advance_dial_status(dial.pk, DialStatus.QUEUED)
    dial.refresh_from_db()
    assert dial.status == DialStatus.RINGING


def test_answered_by_arrives_with_the_answer_when_detection_is_on(twilio, dial):
    twilio.fixture(dial, "call-status-in-progress-answered-by-machine")
    dial.refresh_from_db()
    assert dial.answered_by == "machine_start"


def test_time_to_answer_runs_from_the_request_to_the_answer(twilio, dial):
    dial.created_at = ANSWERED_AT - timedelta(seconds=12)
    dial.save(update_fields=["created_at"])
    twilio.fixture(dial, "call-status-in-progress")
    dial.refresh_from_db()
    assert durations.time_to_answer(dial) == timedelta(seconds=12)
    annotated = type(dial).objects.annotate(**durations.DURATION_ANNOTATIONS).get(pk=dial.pk)
    assert annotated.time_to_answer == timedelta(seconds=12)
