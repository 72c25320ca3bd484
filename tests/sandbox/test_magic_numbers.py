"""Each magic To number plays its documented fate, seen through the callbacks it sends."""

from __future__ import annotations

import pytest

from tests.sandbox.helpers import FROM, SPEED, Receiver, make_client, make_sandbox
from tests.support.waiting import wait_for

ALL_CALL_EVENTS = ["initiated", "ringing", "answered", "completed"]
ALL_CONFERENCE_EVENTS = ["start", "end", "join", "leave"]


def dial(client, receiver: Receiver, to: str, room: str = "magic", **extra):
    return client.conferences(room).participants.create(
        from_=FROM,
        to=to,
        status_callback=f"{receiver.url}/status",
        status_callback_event=ALL_CALL_EVENTS,
        conference_status_callback=f"{receiver.url}/conference",
        conference_status_callback_event=ALL_CONFERENCE_EVENTS,
        **extra,
    )


def test_answering_number_joins_and_stays_until_removed(client, receiver: Receiver) -> None:
    participant = dial(client, receiver, "+15005550006")
    receiver.wait("/conference", 2)
    assert receiver.events("/status", "CallStatus") == ["initiated", "ringing", "in-progress"]
    assert receiver.events("/conference", "StatusCallbackEvent") == [
        "participant-join",
        "conference-start",
    ]
    call = client.calls(participant.call_sid).fetch()
    assert call.status == "in-progress" and call.start_time is not None
    client.conferences(participant.conference_sid).participants(participant.call_sid).delete()
    final = receiver.wait("/status", 4)[-1]
    assert final.one("CallStatus") == "completed"
    assert final.one("SipResponseCode") == "200"


def test_busy_number_reports_busy_then_no_join(client, receiver: Receiver) -> None:
    participant = dial(client, receiver, "+15005550010")
    receiver.wait("/status", 2)
    busy = receiver.at("/status")[-1].flat()
    assert receiver.events("/status", "CallStatus") == ["initiated", "busy"]
    assert busy["SipResponseCode"] == "486"
    assert busy["CallDuration"] == "0" and busy["Duration"] == "0"
    (leave,) = receiver.wait("/conference", 1)
    assert leave.one("StatusCallbackEvent") == "participant-leave"
    assert leave.one("ReasonParticipantLeft") == "participant_add_failed"
    assert leave.one("ParticipantCallStatus") == "busy"
    assert client.calls(participant.call_sid).fetch().status == "busy"
    conference = client.conferences(participant.conference_sid).fetch()
    assert conference.status == "completed"


def test_unanswered_number_gives_up_after_timeout_plus_buffer(client, receiver: Receiver) -> None:
    dial(client, receiver, "+15005550011", timeout=5)
    received = receiver.wait("/status", 3)
    assert [r.one("CallStatus") for r in received] == ["initiated", "ringing", "no-answer"]
    assert received[-1].one("SipResponseCode") == "487"
    rang_for = received[2].at - received[1].at
    # Timeout 5 plus Twilio's 5-second buffer, at SPEED times real time.
    assert rang_for == pytest.approx(10 / SPEED, abs=0.08)


def test_failing_number_reports_failed(client, receiver: Receiver) -> None:
    participant = dial(client, receiver, "+15005550012")
    receiver.wait("/status", 2)
    assert receiver.events("/status", "CallStatus") == ["initiated", "failed"]
    assert receiver.at("/status")[-1].one("SipResponseCode") == "404"
    assert client.calls(participant.call_sid).fetch().status == "failed"


def test_hangup_number_talks_for_its_seconds(client, receiver: Receiver) -> None:
    participant = dial(client, receiver, "+15005551075")
    received = receiver.wait("/status", 4)
    final = received[-1].flat()
    assert final["CallStatus"] == "completed"
    assert final["CallDuration"] == "75"
    assert final["Duration"] == "2"
    call = client.calls(participant.call_sid).fetch()
    assert call.duration == "75" and call.end_time is not None
    events = receiver.wait("/conference", 4)
    assert [e.one("StatusCallbackEvent") for e in events] == [
        "participant-join",
        "conference-start",
        "participant-leave",
        "conference-end",
    ]
    assert events[2].one("ReasonParticipantLeft") == "participant_hung_up"
    assert events[3].one("ReasonConferenceEnded") == "last-participant-left"
    assert events[3].one("CallSidEndingConference") == participant.call_sid


def test_slow_number_rings_for_its_seconds_then_answers(client, receiver: Receiver) -> None:
    dial(client, receiver, "+15005552020")
    received = receiver.wait("/status", 3)
    assert [r.one("CallStatus") for r in received] == ["initiated", "ringing", "in-progress"]
    assert received[2].at - received[1].at >= 20 / SPEED - 0.02


def test_slow_number_past_the_timeout_is_no_answer(client, receiver: Receiver) -> None:
    dial(client, receiver, "+15005552030", timeout=10)
    received = receiver.wait("/status", 3)
    assert received[2].one("CallStatus") == "no-answer"


@pytest.mark.parametrize(
    ("to", "mode", "answered_by", "hangs_up"),
    [
        ("+15005550020", "Enable", "human", False),
        ("+15005550021", "Enable", "machine_start", True),
        ("+15005550022", "Enable", "machine_start", True),
        ("+15005550022", "DetectMessageEnd", "machine_end_beep", True),
        ("+15005550023", "DetectMessageEnd", "machine_end_silence", True),
        ("+15005550024", "DetectMessageEnd", "machine_end_other", True),
        ("+15005550025", "Enable", "fax", True),
        ("+15005550026", "Enable", "unknown", False),
    ],
)
def test_machine_detection_reports_each_answered_by(
    client, receiver: Receiver, to: str, mode: str, answered_by: str, hangs_up: bool
) -> None:
    participant = dial(
        client,
        receiver,
        to,
        machine_detection=mode,
        amd_status_callback=f"{receiver.url}/amd",
    )
    (amd,) = receiver.wait("/amd", 1)
    assert amd.flat() == {
        "AccountSid": participant.account_sid,
        "AnsweredBy": answered_by,
        "CallSid": participant.call_sid,
        "MachineDetectionDuration": amd.one("MachineDetectionDuration"),
    }
    assert int(amd.one("MachineDetectionDuration")) > 0
    assert client.calls(participant.call_sid).fetch().answered_by == answered_by
    if hangs_up:
        final = receiver.wait("/status", 4)[-1]
        assert final.one("CallStatus") == "completed"
        assert final.one("AnsweredBy") == answered_by


def test_answered_by_is_absent_without_machine_detection(client, receiver: Receiver) -> None:
    participant = dial(client, receiver, "+15005551001")
    final = receiver.wait("/status", 4)[-1]
    assert "AnsweredBy" not in final.params
    assert client.calls(participant.call_sid).fetch().answered_by is None


def run_fates(seed: int, count: int) -> list[str]:
    with make_sandbox(seed=seed, speed=20000.0) as box:
        client = make_client(box)
        sids = [
            client.conferences(f"fate-{n}")
            .participants.create(from_=FROM, to="+14155550100")
            .call_sid
            for n in range(count)
        ]

        def finished() -> list[str] | None:
            statuses = [client.calls(sid).fetch().status for sid in sids]
            done = all(s in ("completed", "busy", "no-answer", "failed") for s in statuses)
            return statuses if done else None

        return wait_for(finished, timeout=20, interval=0.01)


def test_other_numbers_get_seeded_fates_that_replay_exactly() -> None:
    first = run_fates(seed=5, count=12)
    assert run_fates(seed=5, count=12) == first
    assert {"completed"} <= set(first)


def test_fates_depend_on_the_seed() -> None:
    assert run_fates(seed=5, count=12) != run_fates(seed=6, count=12)
