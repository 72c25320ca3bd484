"""End to end: the sandbox plays a whole call and signs its callbacks; the app records it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from conferences.callbacks.addresses import callback_url
from conferences.models import (
    CallbackEvent,
    Conference,
    ConferenceStatus,
    DialRequest,
    DialStatus,
)
from tests.support.callbacks import make_dial
from tests.support.sandbox import running_sandbox
from tests.support.waiting import wait_for

sandbox_module = pytest.importorskip("twilio_sandbox")
Client = pytest.importorskip("twilio.rest").Client

pytestmark = pytest.mark.django_db(transaction=True)

# Magic number: a person answers and hangs up after 20 simulated seconds.
TALKS_FOR_20_SECONDS = "+15005551020"


@pytest.fixture
def sandbox(settings: Any) -> Iterator[Any]:
    account = sandbox_module.SandboxAccount(
        sid=settings.TWILIO_ACCOUNT_SID, auth_token=settings.TWILIO_AUTH_TOKEN
    )
    with running_sandbox(accounts=[account], speed=50.0, seed=1) as box:
        yield box


def timeline(dial: DialRequest) -> set[tuple[str, str]]:
    events = CallbackEvent.objects.filter(conference=dial.conference)
    return set(events.values_list("kind", "event"))


def test_a_call_played_by_the_sandbox_ends_completed_with_its_whole_timeline(
    workers, settings, sandbox, operator
):
    workers.start_applier()  # the receiver only stores; the callbacks process applies
    dial = make_dial(operator, label="e2e-caller", call_sid="")
    conference: Conference = dial.conference
    conference.friendly_name = f"e2e-{uuid.uuid4().hex[:8]}"
    conference.save(update_fields=["friendly_name"])
    client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)
    client.api.base_url = sandbox.url

    participant = client.conferences(conference.friendly_name).participants.create(
        from_="+15005550006",
        to=TALKS_FOR_20_SECONDS,
        label=dial.label,
        end_conference_on_exit=True,
        status_callback=callback_url("call-status", dial.pk),
        status_callback_event=["initiated", "ringing", "answered", "completed"],
        conference_status_callback=callback_url("conference", dial.pk),
        conference_status_callback_event=["start", "end", "join", "leave", "mute", "hold"],
    )
    # What the worker does with Twilio's answer; callbacks may already have set it.
    DialRequest.objects.filter(pk=dial.pk, call_sid="").update(call_sid=participant.call_sid)

    expected = {
        ("call-status", "initiated"),
        ("call-status", "ringing"),
        ("call-status", "in-progress"),
        ("call-status", "completed"),
        ("conference", "participant-join"),
        ("conference", "conference-start"),
        ("conference", "participant-leave"),
        ("conference", "conference-end"),
    }
    wait_for(
        lambda: (
            expected <= timeline(dial)
            and not CallbackEvent.objects.filter(applied_at__isnull=True).exists()
        ),
        timeout=30,
    )

    dial.refresh_from_db()
    conference.refresh_from_db()
    assert dial.call_sid == participant.call_sid
    assert dial.status == DialStatus.COMPLETED
    assert dial.answered_at is not None
    assert dial.joined_at is not None
    assert dial.left_at is not None
    assert dial.ended_at is not None
    assert dial.sip_response_code == 200
    assert dial.call_duration_seconds is not None
    assert dial.call_duration_seconds >= 15
    assert conference.status == ConferenceStatus.COMPLETED
    assert conference.sid == participant.conference_sid
    assert conference.reason_ended
    assert not CallbackEvent.objects.filter(unknown_value=True).exists()
    assert not CallbackEvent.objects.filter(applied_at__isnull=True).exists()
    # Every callback the sandbox sent was accepted: none refused, none lost.
    sent = sandbox.callbacks(call_sid=participant.call_sid)
    assert sent
    assert {entry["response_status"] for entry in sent} == {204}
