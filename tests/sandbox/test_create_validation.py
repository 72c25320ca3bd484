"""Create Participant refuses each kind of bad parameter with Twilio's status and code."""

from __future__ import annotations

from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException

from tests.sandbox.helpers import FROM
from tests.support.waiting import wait_for

TO = "+15005550006"
HOOK = "https://example.com/hook"
GENERIC = 400

REFUSED: list[tuple[str, dict[str, Any], int]] = [
    # required
    ("to_missing", {"to": None}, 21201),
    ("from_missing", {"from_": None}, 21213),
    # endpoint forms
    ("to_not_e164", {"to": "5551234567"}, 21211),
    ("to_too_long", {"to": "+1234567890123456"}, 21211),
    ("to_garbage", {"to": "sip:nobody"}, 21211),
    ("from_not_a_number", {"from_": "alice"}, 21212),
    ("from_client_to_phone", {"from_": "client:alice"}, 21212),
    ("caller_id_client_to_phone", {"caller_id": "client:alice"}, 21212),
    # types
    ("timeout_not_integer", {"timeout": "soon"}, GENERIC),
    ("timeout_decimal", {"timeout": "5.5"}, GENERIC),
    ("muted_not_boolean", {"muted": "yes"}, GENERIC),
    ("record_not_boolean", {"record": "1"}, GENERIC),
    # ranges
    ("timeout_below_5", {"timeout": 4}, GENERIC),
    ("timeout_above_600", {"timeout": 601}, GENERIC),
    ("max_participants_below_2", {"max_participants": 1}, GENERIC),
    ("max_participants_above_250", {"max_participants": 251}, GENERIC),
    ("time_limit_zero", {"time_limit": 0}, GENERIC),
    ("amd_timeout_below_3", {"machine_detection": "Enable", "machine_detection_timeout": 2}, 21234),
    ("amd_speech_threshold_high", {"machine_detection_speech_threshold": 6001}, 21234),
    ("amd_speech_end_low", {"machine_detection_speech_end_threshold": 499}, 21234),
    ("amd_silence_low", {"machine_detection_silence_timeout": 1999}, 21234),
    # patterns and lengths
    ("byoc_pattern", {"byoc": "BY123"}, GENERIC),
    ("byoc_not_hex", {"byoc": "BY" + "g" * 32}, GENERIC),
    ("call_sid_to_coach_pattern", {"call_sid_to_coach": "CA123"}, GENERIC),
    ("call_reason_too_long", {"call_reason": "x" * 256}, GENERIC),
    # URLs
    ("status_callback_relative", {"status_callback": "/hook"}, 21205),
    ("status_callback_ftp", {"status_callback": "ftp://example.com/x"}, 21205),
    ("status_callback_underscore_host", {"status_callback": "https://my_host.com/x"}, 21205),
    ("wait_url_garbage", {"wait_url": "not a url"}, 21205),
    ("amd_callback_invalid", {"amd_status_callback": "example.com"}, 21205),
    # methods: Twilio accepts only GET and POST although the seed's enum lists six
    ("status_method_put", {"status_callback": HOOK, "status_callback_method": "PUT"}, 21209),
    ("wait_method_delete", {"wait_method": "DELETE"}, 21209),
    ("conference_method_head", {"conference_status_callback_method": "HEAD"}, 21209),
    # documented values
    ("beep_value", {"beep": "loud"}, GENERIC),
    ("conference_record_value", {"conference_record": "always"}, GENERIC),
    ("conference_trim_value", {"conference_trim": "trim"}, GENERIC),
    ("recording_channels_value", {"recording_channels": "stereo"}, GENERIC),
    ("recording_track_value", {"recording_track": "all"}, GENERIC),
    ("region_value", {"region": "eu1"}, GENERIC),
    ("jitter_buffer_value", {"jitter_buffer_size": "huge"}, GENERIC),
    ("machine_detection_value", {"machine_detection": "Detect"}, 21234),
    # event list values
    ("status_event_value", {"status_callback_event": ["answered", "hangup"]}, GENERIC),
    ("conference_event_value", {"conference_status_callback_event": ["start", "begin"]}, GENERIC),
    ("recording_event_value", {"recording_status_callback_event": ["done"]}, GENERIC),
    (
        "conference_recording_event_value",
        {"conference_recording_status_callback_event": ["started"]},
        GENERIC,
    ),
    # labels
    ("label_too_long", {"label": "x" * 129}, 16024),
    ("label_with_slash", {"label": "a/b"}, 16024),
    ("label_shaped_like_call_sid", {"label": "CA" + "0123456789abcdef" * 2}, 16024),
    # cross-field
    ("coaching_without_call_sid_to_coach", {"coaching": True}, 16028),
    ("call_sid_to_coach_not_in_conference", {"call_sid_to_coach": "CA" + "1" * 32}, 16028),
    ("sip_auth_with_phone_to", {"sip_auth_username": "u", "sip_auth_password": "p"}, GENERIC),
    # magic numbers Twilio refuses before dialling
    ("magic_invalid", {"to": "+15005550001"}, 21211),
    ("magic_unreachable", {"to": "+15005550002"}, 21214),
    ("magic_geo", {"to": "+15005550003"}, 21215),
    ("magic_blocked", {"to": "+15005550004"}, 21216),
]


@pytest.mark.parametrize(
    ("overrides", "code"),
    [pytest.param(overrides, code, id=name) for name, overrides, code in REFUSED],
)
def test_bad_parameter_is_refused_with_twilio_code(client, overrides, code) -> None:
    params: dict[str, Any] = {"from_": FROM, "to": TO, **overrides}
    with pytest.raises(TwilioRestException) as caught:
        client.conferences("validation").participants.create(**params)
    assert caught.value.status == 400
    assert caught.value.code == code
    assert not client.conferences.list(friendly_name="validation")


ACCEPTED: list[tuple[str, dict[str, Any]]] = [
    ("sip_to_with_username_from", {"to": "sip:alice@example.com", "from_": "alice"}),
    (
        "sip_to_with_auth",
        {
            "to": "sip:bob@sip.example.com;transport=tls",
            "sip_auth_username": "b",
            "sip_auth_password": "secret",
        },
    ),
    ("client_to_with_client_from", {"to": "client:agent_7", "from_": "client:desk"}),
    ("lowercase_methods", {"status_callback": HOOK, "status_callback_method": "get"}),
    (
        "space_separated_events",
        {"status_callback": HOOK, "status_callback_event": ["initiated ringing", "completed"]},
    ),
    ("empty_wait_url", {"wait_url": ""}),
    (
        "every_documented_value",
        {
            "beep": "onExit",
            "conference_record": "record-from-start",
            "conference_trim": "do-not-trim",
            "recording_channels": "dual",
            "recording_track": "inbound",
            "region": "jp1",
            "jitter_buffer_size": "off",
            "machine_detection": "DetectMessageEnd",
            "machine_detection_timeout": 59,
            "machine_detection_speech_threshold": 1000,
            "machine_detection_speech_end_threshold": 5000,
            "machine_detection_silence_timeout": 10000,
            "timeout": 600,
            "max_participants": 2,
            "time_limit": 60,
            "early_media": False,
            "byoc": "BY" + "A" * 32,
            "call_reason": "Your appointment",
            "caller_id": "+15550001111",
        },
    ),
]


@pytest.mark.parametrize(
    "overrides", [pytest.param(overrides, id=name) for name, overrides in ACCEPTED]
)
def test_valid_forms_are_accepted(client, overrides) -> None:
    params: dict[str, Any] = {"from_": FROM, "to": TO, **overrides}
    participant = client.conferences("accepted").participants.create(**params)
    assert participant.status == "queued"


def test_label_already_in_use_is_16026_but_free_again_after_leaving(client) -> None:
    first = client.conferences("dupes").participants.create(from_=FROM, to=TO, label="agent")
    client.conferences("dupes").participants.create(from_=FROM, to=TO, label="customer")
    with pytest.raises(TwilioRestException) as caught:
        client.conferences("dupes").participants.create(from_=FROM, to=TO, label="agent")
    assert (caught.value.status, caught.value.code) == (400, 16026)
    other_room = client.conferences("elsewhere").participants.create(
        from_=FROM, to=TO, label="agent"
    )
    assert other_room.label == "agent"
    client.conferences(first.conference_sid).participants("agent").delete()
    again = client.conferences(first.conference_sid).participants.create(
        from_=FROM, to=TO, label="agent"
    )
    assert again.label == "agent"


def test_coaching_a_connected_participant_is_accepted(client) -> None:
    agent = client.conferences("coach-ok").participants.create(from_=FROM, to=TO)
    wait_for(
        lambda: (
            client.conferences(agent.conference_sid).participants(agent.call_sid).fetch().status
            == "connected"
        ),
        timeout=10,
        interval=0.01,
    )
    coach = client.conferences(agent.conference_sid).participants.create(
        from_=FROM, to=TO, call_sid_to_coach=agent.call_sid
    )
    assert coach.coaching is True
    assert coach.call_sid_to_coach == agent.call_sid
