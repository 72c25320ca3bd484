"""What reaches Twilio: the dial form's values through the gateway, seen by the sandbox."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conferences.accounts import twilio_accounts
from conferences.gateway import client as gateway
from conferences.gateway import types as gateway_types
from conferences.models import DialRequest, RelayAllowedHost
from tests.support.sandbox import running_sandbox
from tests.support.waiting import wait_for
from twilio_sandbox import Sandbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def sandbox():
    with running_sandbox(speed=50.0, seed=3) as box:
        yield box


def _sent_through_gateway(dial: DialRequest, sandbox: Sandbox) -> dict[str, list[str]]:
    creds = twilio_accounts.credentials(dial.account)
    creds = gateway_types.AccountCredentials(
        creds.account_sid, creds.username, creds.password, sandbox.url
    )
    gateway.create_participant(creds, dial.conference.friendly_name, dial.params, timeout=5)
    # The sandbox writes its request log just after it answers: poll for the entry.
    (entry,) = wait_for(lambda: [e for e in sandbox.requests() if e["method"] == "POST"])
    return entry["params"]


def test_the_wire_carries_twilios_names_true_false_repeated_keys_and_only_what_was_set(
    client, operator, sandbox, settings
):
    RelayAllowedHost.objects.create(host="hooks.example.com")
    client.force_login(operator)
    client.post(
        reverse("conferences:dial-submit"),
        {
            "conference": "Wire check",
            "to": "(500) 555-0006",
            "from": "+15005550006",
            "muted": "true",
            "early_media": "false",
            "timeout": "25",
            "status_callback": "https://hooks.example.com/status",
            "status_callback_method": "GET",
            "status_callback_event": ["ringing", "completed"],
            "action": "dial",
        },
    )
    dial = DialRequest.objects.get()
    sent = _sent_through_gateway(dial, sandbox)
    assert sent["To"] == ["+15005550006"]  # normalised to E.164
    assert sent["Muted"] == ["true"] and sent["EarlyMedia"] == ["false"]
    assert sent["Timeout"] == ["25"]
    assert sent["Label"] == [dial.label]
    # Our own callback URL replaces the operator's, with every event we need as repeated keys.
    assert sent["StatusCallback"] == [
        f"{settings.PUBLIC_BASE_URL}/webhooks/twilio/call-status/{dial.pk}"
    ]
    assert sent["StatusCallbackMethod"] == ["POST"]
    assert sent["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert sent["ConferenceStatusCallbackEvent"] == [
        "start",
        "end",
        "join",
        "leave",
        "mute",
        "hold",
        "modify",
        "announcement",
    ]
    # The operator's URL became a relay target for exactly what they asked.
    assert dial.relay_targets["call-status"] == {
        "url": "https://hooks.example.com/status",
        "method": "GET",
        "events": ["ringing", "completed"],
    }
    # Nothing the operator left unset is sent (Twilio's defaults apply).
    for unset in (
        "Beep",
        "Record",
        "Coaching",
        "Region",
        "MachineDetection",
        "AmdStatusCallback",
        "RecordingStatusCallback",
        "SipAuthPassword",
        "WaitUrl",
    ):
        assert unset not in sent, unset


def test_recording_and_machine_detection_callbacks_are_asked_for_only_when_used(
    client, operator, sandbox
):
    client.force_login(operator)
    client.post(
        reverse("conferences:dial-submit"),
        {
            "conference": "AMD",
            "to": "+15005550022",
            "from": "+15005550006",
            "record": "true",
            "machine_detection": "Enable",
            "action": "dial",
        },
    )
    dial = DialRequest.objects.get()
    sent = _sent_through_gateway(dial, sandbox)
    assert sent["MachineDetection"] == ["Enable"]
    assert sent["AmdStatusCallback"][0].endswith(f"/webhooks/twilio/amd/{dial.pk}")
    assert sent["RecordingStatusCallback"][0].endswith(f"/webhooks/twilio/recording/{dial.pk}")
    assert "ConferenceRecordingStatusCallback" not in sent
