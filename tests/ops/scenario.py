"""One known hour of callbacks, sent through the real webhook URL with real signatures,
so the health page, /metrics and /healthz/detail can be checked against exact figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta
from email.utils import format_datetime

from django.test import Client
from django.utils import timezone

from conferences.models import (
    CallbackEvent,
    DialRequest,
    DialStatus,
    RelayDelivery,
    RelayDeliveryStatus,
    User,
)
from tests.support.callbacks import TwilioSender, make_dial, payload_for

LAG_SECONDS = 2


@dataclass(frozen=True)
class Scenario:
    dial: DialRequest
    stored: int = 4  # ringing, completed, in-progress (late), recording
    applied: int = 4
    duplicates: int = 1
    out_of_order: int = 1
    bad_signatures: int = 1
    malformed: int = 1
    relay_failures: int = 1

    @property
    def call_status_received(self) -> int:
        # stored 3 + 1 duplicate + 1 bad signature + 1 malformed
        return 3 + self.duplicates + self.bad_signatures + self.malformed


def timestamp_seconds_ago(seconds: int) -> str:
    return format_datetime(timezone.now().astimezone(UTC) - timedelta(seconds=seconds), usegmt=True)


def play_known_hour(client: Client, operator: User) -> Scenario:
    """ringing (seq 1), completed (seq 3), completed again (duplicate), in-progress (seq 2,
    late: out of order), a recording, one forged signature, one malformed callback, one
    failed relay; every Timestamp LAG_SECONDS before it is sent."""
    twilio = TwilioSender(client)
    dial = make_dial(operator)
    stamp = {"Timestamp": timestamp_seconds_ago(LAG_SECONDS)}

    def send(name: str, **overrides: str) -> int:
        return twilio.fixture(dial, name, **stamp, **overrides).status_code

    assert send("call-status-ringing", SequenceNumber="1") == 204
    assert send("call-status-completed", SequenceNumber="3") == 204
    assert send("call-status-completed", SequenceNumber="3") == 204  # duplicate
    assert send("call-status-in-progress", SequenceNumber="2") == 204  # out of order
    assert send("recording-completed") == 204
    forged = payload_for(dial, "call-status-ringing", SequenceNumber="9")
    assert twilio.send("call-status", dial.pk, forged, token="not-the-token").status_code == 403
    malformed = payload_for(dial, "call-status-ringing", CallSid="not-a-sid")
    assert twilio.send("call-status", dial.pk, malformed).status_code == 400
    RelayDelivery.objects.create(
        event=CallbackEvent.objects.filter(dial=dial).earliest("pk"),
        dial=dial,
        url="https://hooks.example.com/status",
        status=RelayDeliveryStatus.FAILED,
        attempts=6,
        last_error="answered HTTP 500",
    )
    dial.refresh_from_db()
    assert dial.status == DialStatus.COMPLETED
    return Scenario(dial=dial)
