"""Conference callbacks: the conference row, each participant's dial, toggles in any order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from conferences.callbacks import durations
from conferences.models import CallbackEvent, ConferenceStatus, DialStatus
from tests.support.callbacks import FIXTURE_CALL_SID, FIXTURE_CONFERENCE_SID, make_dial, payload_for
from tests.webhooks.helpers import make_account

pytestmark = pytest.mark.django_db

JOINED_AT = datetime(2025, 1, 14, 16, 2, 20, tzinfo=UTC)
LEFT_AT = datetime(2025, 1, 14, 16, 4, 6, tzinfo=UTC)


def test_start_and_end_fill_in_the_conference(twilio, dial):
    twilio.fixture(dial, "conference-start")
    conference = dial.conference
    conference.refresh_from_db()
    assert conference.sid == FIXTURE_CONFERENCE_SID
    assert conference.status == ConferenceStatus.IN_PROGRESS
    assert conference.started_at == JOINED_AT

    twilio.fixture(dial, "conference-end")
    conference.refresh_from_db()
    assert conference.status == ConferenceStatus.COMPLETED
    assert conference.ended_at == LEFT_AT
    assert conference.reason_ended == "last-participant-left"
    assert conference.call_sid_ending == FIXTURE_CALL_SID
    assert conference.last_sequence_number == 11


def test_an_end_that_overtakes_the_start_still_ends_the_conference(twilio, dial):
    twilio.fixture(dial, "conference-end")
    twilio.fixture(dial, "conference-start")
    conference = dial.conference
    conference.refresh_from_db()
    assert conference.status == ConferenceStatus.COMPLETED
    assert conference.started_at == JOINED_AT
    assert conference.last_sequence_number == 11


def test_join_and_leave_time_the_participant(twilio, dial):
    twilio.fixture(dial, "participant-join")
    dial.refresh_from_db()
    assert dial.status == DialStatus.IN_PROGRESS
    assert dial.joined_at == JOINED_AT

    twilio.fixture(dial, "participant-leave")
    dial.refresh_from_db()
    assert dial.left_at == LEFT_AT
    assert dial.end_reason == "participant_hung_up"
    assert durations.time_in_conference(dial) == timedelta(seconds=106)


def test_a_leave_reason_outranks_the_final_call_status(twilio, dial):
    twilio.fixture(dial, "call-status-completed")
    twilio.fixture(dial, "participant-leave")
    dial.refresh_from_db()
    assert (dial.status, dial.end_reason) == (DialStatus.COMPLETED, "participant_hung_up")


@pytest.mark.parametrize(
    ("order", "muted"),
    [
        (["participant-mute", "participant-unmute"], False),
        (["participant-unmute", "participant-mute"], False),  # unmute is the later event
        (["participant-mute"], True),
        (["participant-join", "participant-mute"], True),
        (["participant-mute", "participant-join"], True),  # the join is older than the mute
    ],
)
def test_muted_follows_the_latest_event_not_the_latest_arrival(twilio, dial, order, muted):
    for name in order:
        twilio.fixture(dial, name)
    dial.refresh_from_db()
    assert dial.muted is muted


def test_hold_and_unhold_out_of_order(twilio, dial):
    twilio.fixture(dial, "participant-unhold")
    twilio.fixture(dial, "participant-hold")
    dial.refresh_from_db()
    assert dial.hold is False
    assert dial.hold_sequence == 6


def test_modify_turns_coaching_on(twilio, dial):
    twilio.fixture(dial, "participant-modify")
    dial.refresh_from_db()
    assert dial.coaching is True


def test_the_first_participants_url_reports_on_every_participant_by_label(twilio, operator, dial):
    second = make_dial(operator, conference=dial.conference, label="caller-olivia-2", call_sid="")
    params = payload_for(
        dial,
        "participant-join",
        ParticipantLabel="caller-olivia-2",
        CallSid="CA" + "2" * 32,
        SequenceNumber="3",
    )
    assert twilio.send("conference", dial.pk, params).status_code == 204
    second.refresh_from_db()
    dial.refresh_from_db()
    assert second.status == DialStatus.IN_PROGRESS
    assert second.call_sid == "CA" + "2" * 32  # learnt from the callback
    assert dial.status == DialStatus.PENDING
    assert CallbackEvent.objects.get().dial == second


def test_a_participant_without_a_label_is_found_by_call_sid(twilio, operator, dial):
    second = make_dial(
        operator, conference=dial.conference, label="other", call_sid="CA" + "3" * 32
    )
    params = payload_for(dial, "participant-mute", CallSid=second.call_sid)
    del params["ParticipantLabel"]
    twilio.send("conference", dial.pk, params)
    second.refresh_from_db()
    assert second.muted is True


def test_a_callback_before_the_call_sid_is_stored_is_applied_and_fills_it_in(twilio, operator):
    early = make_dial(operator, call_sid="")
    params = payload_for(early, "call-status-ringing")  # carries the fixture's CallSid
    assert twilio.send("call-status", early.pk, params).status_code == 204
    early.refresh_from_db()
    assert early.call_sid == FIXTURE_CALL_SID
    assert early.status == DialStatus.RINGING
    assert CallbackEvent.objects.get().dial == early


def test_a_join_before_the_call_sid_is_stored_is_matched_by_label(twilio, operator):
    early = make_dial(operator, call_sid="")
    assert twilio.fixture(early, "participant-join").status_code == 204
    early.refresh_from_db()
    assert early.call_sid == FIXTURE_CALL_SID
    assert early.joined_at == JOINED_AT


def test_another_calls_callback_is_kept_but_changes_nothing(twilio, operator):
    dial = make_dial(operator, call_sid="CA" + "4" * 32)
    params = payload_for(dial, "call-status-completed", CallSid="CA" + "5" * 32)
    assert twilio.send("call-status", dial.pk, params).status_code == 204
    dial.refresh_from_db()
    assert dial.status == DialStatus.PENDING
    assert dial.call_sid == "CA" + "4" * 32
    assert CallbackEvent.objects.get().dial == dial


def test_a_signed_callback_for_a_dial_we_do_not_have_is_kept_unattached(twilio, dial):
    params = payload_for(dial, "call-status-ringing", CallSid="CA" + "6" * 32)
    assert twilio.send("call-status", 999_999, params).status_code == 204
    event = CallbackEvent.objects.get()
    assert event.dial is None
    assert event.orphaned
    assert event.dial_id_in_url == 999_999


def test_an_orphan_about_a_known_call_still_reaches_its_dial(twilio, dial):
    assert (
        twilio.send("call-status", 999_999, payload_for(dial, "call-status-ringing")).status_code
        == 204
    )
    event = CallbackEvent.objects.get()
    assert event.orphaned
    assert event.dial == dial
    dial.refresh_from_db()
    assert dial.status == DialStatus.RINGING


def test_a_dial_of_another_account_is_never_matched(twilio, operator, settings):
    other = make_account("AC" + "7a" * 16, "other-token")
    foreign = make_dial(operator, account=other, call_sid="CA" + "8" * 32)
    params = payload_for(foreign, "call-status-completed", AccountSid=settings.TWILIO_ACCOUNT_SID)
    assert twilio.send("call-status", foreign.pk, params).status_code == 204
    event = CallbackEvent.objects.get()
    assert (event.dial, event.orphaned) == (None, True)
    foreign.refresh_from_db()
    assert foreign.status == DialStatus.PENDING


def test_a_huge_dial_id_in_the_url_is_an_orphan_not_an_error(twilio, dial):
    params = payload_for(dial, "call-status-ringing", CallSid="CA" + "6" * 32)
    assert twilio.send("call-status", 10**30, params).status_code == 204
    assert CallbackEvent.objects.get().dial_id_in_url is None


def test_a_recording_fills_in_the_dials_recording(twilio, dial):
    twilio.fixture(dial, "recording-in-progress")
    twilio.fixture(dial, "recording-completed")
    dial.refresh_from_db()
    assert dial.recording_sid == "RE5c0a7e3b9d2f41c8a6e4b1d7f3c90e28"
    assert dial.recording_duration_seconds == 104


def test_a_conference_recording_belongs_to_the_conference(twilio, dial):
    twilio.fixture(dial, "conference-recording-completed")
    event = CallbackEvent.objects.get()
    assert (event.dial, event.conference) == (None, dial.conference)
    dial.refresh_from_db()
    assert dial.recording_sid == ""


def test_machine_detection_says_who_answered(twilio, dial):
    twilio.fixture(dial, "amd-machine-end-beep")
    dial.refresh_from_db()
    assert dial.answered_by == "machine_end_beep"
