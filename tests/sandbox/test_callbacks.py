"""What every callback carries: Twilio's parameter names, values, methods and headers."""

from __future__ import annotations

import re
import socket

from tests.sandbox.helpers import ACCOUNT_SID, FROM, Receiver
from tests.support.waiting import wait_for
from twilio_sandbox import Sandbox

RFC2822 = re.compile(r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$")
GEO = {
    prefix + suffix
    for prefix in ("Called", "Caller", "From", "To")
    for suffix in ("City", "Country", "State", "Zip")
}
PROGRESS_PARAMS = {
    "AccountSid",
    "ApiVersion",
    "CallSid",
    "CallStatus",
    "Called",
    "Caller",
    "CallbackSource",
    "Direction",
    "From",
    "SequenceNumber",
    "Timestamp",
    "To",
} | GEO


def test_call_progress_callbacks_carry_twilio_parameters(client, receiver: Receiver) -> None:
    participant = client.conferences("params").participants.create(
        from_=FROM,
        to="+15005551030",
        status_callback=f"{receiver.url}/status",
        status_callback_event="initiated ringing answered completed",
    )
    received = receiver.wait("/status", 4)
    for sequence, request in enumerate(received):
        params = request.flat()
        expected = PROGRESS_PARAMS | (
            {"CallDuration", "Duration", "SipResponseCode"} if sequence == 3 else set()
        )
        assert set(params) == expected
        assert params["AccountSid"] == ACCOUNT_SID
        assert params["CallSid"] == participant.call_sid
        assert params["ApiVersion"] == "2010-04-01"
        assert params["Direction"] == "outbound-api"
        assert params["CallbackSource"] == "call-progress-events"
        assert params["From"] == params["Caller"] == FROM
        assert params["To"] == params["Called"] == "+15005551030"
        assert params["SequenceNumber"] == str(sequence)
        assert RFC2822.match(params["Timestamp"])
        assert request.headers["User-Agent"] == "TwilioProxy/1.1"
        assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert request.headers["X-Twilio-Signature"]
        assert request.headers["I-Twilio-Idempotency-Token"]
    assert received[3].one("CallDuration") == "30"
    assert received[3].one("Duration") == "1"


def test_only_completed_is_sent_by_default(client, receiver: Receiver) -> None:
    client.conferences("default-events").participants.create(
        from_=FROM, to="+15005551001", status_callback=f"{receiver.url}/status"
    )
    (only,) = receiver.wait("/status", 1)
    assert only.one("CallStatus") == "completed"
    assert only.one("SequenceNumber") == "0"


def test_first_participants_conference_callback_applies_to_the_conference(
    client, receiver: Receiver
) -> None:
    first = client.conferences("first-wins").participants.create(
        from_=FROM,
        to="+15005550006",
        label="host",
        conference_status_callback=f"{receiver.url}/first",
        conference_status_callback_event=["start", "join", "leave", "end"],
    )
    client.conferences("first-wins").participants.create(
        from_=FROM,
        to="+15005551010",
        label="guest",
        conference_status_callback=f"{receiver.url}/second",
        conference_status_callback_event=["join"],
    )
    receiver.wait("/first", 4)
    events = [
        (r.one("StatusCallbackEvent"), r.params.get("ParticipantLabel"))
        for r in receiver.at("/first")
    ]
    assert events[:4] == [
        ("participant-join", ["host"]),
        ("conference-start", None),
        ("participant-join", ["guest"]),
        ("participant-leave", ["guest"]),
    ]
    assert receiver.at("/second") == []
    join = receiver.at("/first")[0].flat()
    assert join["ConferenceSid"] == first.conference_sid
    assert join["FriendlyName"] == "first-wins"
    assert join["AccountSid"] == ACCOUNT_SID
    assert join["CallSid"] == first.call_sid
    assert join["SequenceNumber"] == "1"
    assert {join[k] for k in ("Muted", "Hold", "Coaching", "EndConferenceOnExit")} == {"false"}
    assert join["StartConferenceOnEnter"] == "true"
    assert RFC2822.match(join["Timestamp"])


def test_conference_callbacks_can_use_get(client, receiver: Receiver) -> None:
    client.conferences("get-conference").participants.create(
        from_=FROM,
        to="+15005551001",
        conference_status_callback=f"{receiver.url}/conference?room=9",
        conference_status_callback_method="GET",
    )
    received = receiver.wait("/conference", 2)
    assert [r.method for r in received] == ["GET", "GET"]
    assert [r.one("StatusCallbackEvent") for r in received] == [
        "conference-start",
        "conference-end",
    ]
    assert received[0].one("room") == "9"


def test_participant_recording_sends_in_progress_and_completed(client, receiver: Receiver) -> None:
    participant = client.conferences("recorded").participants.create(
        from_=FROM,
        to="+15005551042",
        record=True,
        recording_channels="dual",
        recording_status_callback=f"{receiver.url}/recording",
        recording_status_callback_event=["in-progress", "completed"],
    )
    started, completed = receiver.wait("/recording", 2)
    assert started.one("RecordingStatus") == "in-progress"
    assert "RecordingDuration" not in started.params
    params = completed.flat()
    assert params["RecordingStatus"] == "completed"
    assert params["CallSid"] == participant.call_sid
    assert re.fullmatch(r"RE[0-9a-f]{32}", params["RecordingSid"])
    assert params["RecordingSid"] == started.one("RecordingSid")
    assert params["RecordingUrl"].endswith(f"/Recordings/{params['RecordingSid']}")
    assert params["RecordingDuration"] == "42"
    assert params["RecordingChannels"] == "2"
    assert params["RecordingSource"] == "OutboundAPI"
    assert RFC2822.match(params["RecordingStartTime"])


def test_conference_recording_reports_to_its_callback(client, receiver: Receiver) -> None:
    participant = client.conferences("conference-recorded").participants.create(
        from_=FROM,
        to="+15005551020",
        conference_record="record-from-start",
        conference_recording_status_callback=f"{receiver.url}/conference-recording",
        conference_recording_status_callback_event=["in-progress", "completed"],
    )
    started, completed = receiver.wait("/conference-recording", 2)
    assert started.one("RecordingStatus") == "in-progress"
    assert completed.one("RecordingStatus") == "completed"
    assert completed.one("ConferenceSid") == participant.conference_sid
    assert completed.one("RecordingSource") == "Conference"
    assert completed.one("RecordingChannels") == "1"
    assert int(completed.one("RecordingDuration")) >= 19


def test_failed_deliveries_are_journaled_and_the_sandbox_carries_on(
    sandbox: Sandbox, client, receiver: Receiver
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    receiver.status = 500
    refused = client.conferences("refused").participants.create(
        from_=FROM, to="+15005551001", status_callback=f"http://127.0.0.1:{closed_port}/x"
    )
    erroring = client.conferences("erroring").participants.create(
        from_=FROM, to="+15005551001", status_callback=f"{receiver.url}/status"
    )
    (refused_entry,) = wait_for(
        lambda: [
            c for c in sandbox.callbacks(call_sid=refused.call_sid) if c["status"] != "pending"
        ],
        timeout=10,
        interval=0.01,
    )
    assert refused_entry["status"] == "failed"
    assert "Connection" in refused_entry["error"] or "refused" in refused_entry["error"].lower()
    (erroring_entry,) = wait_for(
        lambda: [
            c for c in sandbox.callbacks(call_sid=erroring.call_sid) if c["status"] != "pending"
        ],
        timeout=10,
        interval=0.01,
    )
    assert erroring_entry["status"] == "failed"
    assert erroring_entry["response_status"] == 500
    # Twilio does not retry status callbacks: one attempt each, journaled once.
    assert len(sandbox.callbacks(call_sid=erroring.call_sid)) == 1
    assert client.conferences("still-serving").participants.create(from_=FROM, to="+15005550006")
