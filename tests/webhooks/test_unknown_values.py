"""A well-signed value this app does not know yet is stored, acknowledged and flagged."""

from __future__ import annotations

import logging

import pytest

from conferences.models import CallbackEvent, DialStatus

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("name", "parameter", "value"),
    [
        ("call-status-ringing", "CallStatus", "teleporting"),
        ("participant-join", "StatusCallbackEvent", "participant-teleport"),
        ("conference-start", "StatusCallbackEvent", "conference-paused"),
        ("recording-completed", "RecordingStatus", "archived"),
        ("amd-human", "AnsweredBy", "robot_polite"),
    ],
)
def test_an_unknown_value_is_stored_flagged_and_changes_no_state(
    twilio, dial, caplog, name, parameter, value
):
    with caplog.at_level(logging.WARNING, logger="conferences.callbacks"):
        sent = twilio.fixture(dial, name, **{parameter: value})
    assert sent.status_code == 204
    event = CallbackEvent.objects.get()
    assert event.unknown_value
    assert event.event == value
    assert event.applied_at is not None
    dial.refresh_from_db()
    assert dial.status == DialStatus.PENDING
    assert value in caplog.text


def test_a_known_value_is_not_flagged(twilio, dial):
    twilio.fixture(dial, "call-status-ringing")
    assert not CallbackEvent.objects.get().unknown_value


def test_an_unknown_value_of_odd_length_still_fits(twilio, dial):
    sent = twilio.fixture(dial, "call-status-ringing", CallStatus="x" * 500)
    assert sent.status_code == 204
    event = CallbackEvent.objects.get()
    assert event.unknown_value
    assert len(event.dedupe_key) <= 200
    assert event.params["CallStatus"] == "x" * 500
