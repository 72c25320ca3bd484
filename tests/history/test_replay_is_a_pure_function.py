"""The participant state after each event, computed without touching the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from conferences.callbacks.replay import ATTEMPT, ParticipantState, ReplayEvent, replay
from conferences.models import CallbackKind, DialAttempt, DialStatus

T0 = datetime(2025, 1, 14, 16, 2, 0, tzinfo=UTC)


def call(status, second, sequence, **params):
    return ReplayEvent(
        CallbackKind.CALL_STATUS,
        status,
        T0 + timedelta(seconds=second),
        {"CallStatus": status, **params},
        sequence_number=sequence,
    )


def conference(event, second, sequence, **params):
    return ReplayEvent(
        CallbackKind.CONFERENCE,
        event,
        T0 + timedelta(seconds=second),
        {"StatusCallbackEvent": event, **params},
        sequence_number=sequence,
    )


def test_a_late_ringing_never_moves_a_completed_call_back():
    states = replay(
        [
            call("initiated", 1, 0),
            call("completed", 5, 3, CallDuration="40", SipResponseCode="200"),
            call("ringing", 6, 1),
        ]
    )
    assert [s.status for s in states] == [
        DialStatus.INITIATED,
        DialStatus.COMPLETED,
        DialStatus.COMPLETED,
    ]
    assert states[-1].call_duration_seconds == 40


def test_the_first_final_status_wins_and_alone_says_how_the_call_ended():
    states = replay(
        [
            call("busy", 2, 2, SipResponseCode="486"),
            call("completed", 3, 3, SipResponseCode="200", CallDuration="0"),
        ]
    )
    assert states[-1].status == DialStatus.BUSY
    assert states[-1].sip_response_code == 486
    assert states[-1].end_reason == DialStatus.BUSY


def test_toggles_follow_the_highest_sequence_number_not_the_arrival_order():
    states = replay(
        [
            conference("participant-join", 1, 1, Muted="false", Hold="false"),
            conference("participant-unmute", 3, 4),
            conference("participant-mute", 4, 3),
            conference("participant-hold", 5, 5),
        ]
    )
    assert [s.muted for s in states] == [False, False, False, False]
    assert states[-1].hold is True
    assert states[0].in_conference and states[0].status == DialStatus.IN_PROGRESS


def test_joining_proves_an_answer_and_leaving_keeps_the_reason():
    states = replay(
        [
            conference("participant-join", 2, 1),
            conference("participant-leave", 9, 2, ReasonParticipantLeft="participant_hung_up"),
        ]
    )
    assert states[-1].answered_at == T0 + timedelta(seconds=2)
    assert states[-1].left_at == T0 + timedelta(seconds=9)
    assert not states[-1].in_conference
    assert states[-1].end_reason == "participant_hung_up"


def test_pipeline_attempts_move_a_dial_from_pending_to_queued():
    start = ParticipantState()
    states = replay(
        [
            ReplayEvent(ATTEMPT, DialAttempt.Outcome.UNKNOWN, T0),
            ReplayEvent(ATTEMPT, DialAttempt.Outcome.PLACED, T0 + timedelta(seconds=1)),
        ],
        start,
    )
    assert [s.status for s in states] == [DialStatus.PLACING, DialStatus.QUEUED]
    refusal = ReplayEvent(ATTEMPT, DialAttempt.Outcome.PERMANENT_ERROR, T0, error_code=21211)
    refused = replay([refusal])
    assert refused[-1].status == DialStatus.FAILED and refused[-1].error_code == 21211


def test_machine_detection_sets_answered_by_once():
    states = replay(
        [
            ReplayEvent(CallbackKind.AMD, "machine_start", T0),
            ReplayEvent(CallbackKind.AMD, "human", T0 + timedelta(seconds=1)),
        ]
    )
    assert states[-1].answered_by == "machine_start"


def test_replay_changes_nothing_it_was_given():
    start = ParticipantState()
    replay([call("ringing", 1, 1)], start)
    assert start == ParticipantState()
