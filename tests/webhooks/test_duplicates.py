"""Twilio may deliver a callback twice: it is stored and applied once, and answered 2xx twice."""

from __future__ import annotations

import pytest

from conferences.models import CallbackEvent, DialStatus
from tests.support.callbacks import payload_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "name",
    [
        "call-status-completed",
        "participant-mute",
        "conference-start",
        "recording-completed",
        "amd-human",
    ],
)
def test_the_same_callback_twice_is_stored_once_and_answered_twice(twilio, dial, name):
    first = twilio.fixture(dial, name)
    second = twilio.fixture(dial, name)
    assert (first.status_code, second.status_code) == (204, 204)
    assert CallbackEvent.objects.count() == 1


def test_a_duplicate_sent_by_get_after_post_is_still_one_event(twilio, dial):
    params = payload_for(dial, "call-status-ringing")
    assert twilio.send("call-status", dial.pk, params).status_code == 204
    assert twilio.send("call-status", dial.pk, params, method="GET").status_code == 204
    assert CallbackEvent.objects.count() == 1


def test_two_callbacks_with_the_same_status_but_different_sequence_are_both_kept(twilio, dial):
    twilio.fixture(dial, "call-status-ringing")
    twilio.fixture(dial, "call-status-ringing", SequenceNumber="5")
    assert CallbackEvent.objects.count() == 2
    dial.refresh_from_db()
    assert dial.status == DialStatus.RINGING


def test_a_duplicate_mute_does_not_undo_a_later_unmute(twilio, dial):
    twilio.fixture(dial, "participant-mute")
    twilio.fixture(dial, "participant-unmute")
    twilio.fixture(dial, "participant-mute")  # Twilio's retry of the earlier callback
    dial.refresh_from_db()
    assert dial.muted is False
