"""Each real payload, sent to its kind's real URL with a real signature, is stored and applied."""

from __future__ import annotations

import pytest

from conferences.callbacks import meaning as callback_meaning
from conferences.models import CallbackEvent
from tests.support.callbacks import FIXTURE_NAMES, fixture_kind, load_payload, payload_for

pytestmark = pytest.mark.django_db

CONFERENCE_WIDE = {"conference-start", "conference-end", "announcement-end"}


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_each_fixture_is_stored_once_as_received_and_applied(twilio, dial, name):
    params = payload_for(dial, name)

    sent = twilio.send(fixture_kind(name), dial.pk, params)

    assert sent.status_code == 204
    assert sent.content == b""
    event = CallbackEvent.objects.get()
    assert event.kind == fixture_kind(name)
    assert event.params == params
    assert event.account_sid == dial.account.account_sid
    assert event.applied_at is not None
    assert not event.unknown_value
    assert not event.orphaned
    assert event.dial_id_in_url == dial.pk
    assert event.conference == dial.conference
    if name in CONFERENCE_WIDE or fixture_kind(name) == "conference-recording":
        assert event.dial is None
    else:
        assert event.dial == dial


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_every_fixture_value_is_in_the_mapping_table(name):
    kind = fixture_kind(name)
    value = load_payload(name)[callback_meaning.EVENT_PARAMETER[kind]]
    assert callback_meaning.is_known_value(kind, value)


def test_every_value_twilio_sends_in_the_table_has_a_fixture():
    sent_values = {
        (
            fixture_kind(name),
            load_payload(name)[callback_meaning.EVENT_PARAMETER[fixture_kind(name)]],
        )
        for name in FIXTURE_NAMES
    }
    # Twilio never reports `queued` through a status callback; the rest are rare twins of
    # events that have a fixture (speech-stop of speech-start, announcement-fail of -end).
    without_capture = {
        ("call-status", "queued"),
        ("conference", "participant-speech-stop"),
        ("conference", "announcement-fail"),
    }
    table = {("call-status", value) for value in callback_meaning.CALL_STATUSES} | {
        ("conference", value) for value in callback_meaning.CONFERENCE_EVENTS
    }
    assert table - without_capture <= sent_values
