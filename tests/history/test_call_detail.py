"""One call's page: its story from real signed callbacks, attempts, audit and the verdict."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conferences.audit import trail as audit
from conferences.audit.trail import AuditAction
from conferences.dialing.submission import DialSubmission, submit_dial
from conferences.history import story as dial_stories
from conferences.models import CallbackEvent, DialAttempt, DialRequest, DialStatus
from tests.history.helpers import make_dial
from tests.support.callbacks import TwilioSender
from tests.support.callbacks import make_dial as make_webhook_dial

pytestmark = pytest.mark.django_db

# Received in this order on purpose: unmute (SequenceNumber 4) overtakes mute (3), and the
# call's completed status overtakes the participant's leave.
RECEIVED = [
    "call-status-initiated",
    "call-status-ringing",
    "call-status-in-progress",
    "conference-start",
    "participant-join",
    "participant-unmute",
    "participant-mute",
    "participant-hold",
    "call-status-completed",
    "participant-leave",
    "recording-completed",
    "conference-end",
]


@pytest.fixture
def played_call(client, operator, supervisor):
    """A dial whose whole life arrived through the real webhook URL, signed."""
    dial = make_webhook_dial(operator)
    DialAttempt.objects.create(
        dial=dial, number=1, outcome=DialAttempt.Outcome.UNKNOWN, detail="no answer: ReadTimeout"
    )
    DialAttempt.objects.create(
        dial=dial,
        number=2,
        outcome=DialAttempt.Outcome.ADOPTED,
        decided_by="participant-label",
        detail="call already exists",
    )
    DialRequest.objects.filter(pk=dial.pk).update(
        status=DialStatus.QUEUED, placed_by_check="participant-label"
    )
    sender = TwilioSender(client)
    for name in RECEIVED:
        assert sender.fixture(dial, name).status_code in (200, 204), name
    audit.record(AuditAction.MUTE, actor=supervisor, dial=dial, detail={"muted": True})
    dial.refresh_from_db()
    return dial


def detail(client, dial, **headers):
    return client.get(reverse("conferences:history-detail", args=[dial.pk]), **headers)


def test_the_timeline_shows_every_callback_attempt_and_audit_entry_in_received_order(
    client, supervisor, played_call
):
    client.force_login(supervisor)
    html = detail(client, played_call).content.decode()
    story = dial_stories.dial_story(supervisor, played_call.pk)
    sources = [entry.source for entry in story.timeline]
    assert sources.count("callback") == len(RECEIVED)
    assert sources.count("attempt") == 2 and sources.count("audit") == 1
    events = [entry.event for entry in story.timeline if entry.source == "callback"]
    assert events == [
        CallbackEvent.objects.get(pk=pk).event
        for pk in CallbackEvent.objects.order_by("received_at").values_list("pk", flat=True)
    ]
    for event in ("participant-unmute", "participant-mute", "conference-end", "completed"):
        assert f"<strong>{event}</strong>" in html
    # Key parameters at a glance, the raw ones on demand.
    assert "ReasonParticipantLeft" in html and "participant_hung_up" in html
    assert "<details><summary>All parameters" in html
    assert "the caller hung up" in html
    assert "the conference already had a participant with this dial&#x27;s label" in html
    assert "sam: mute" in html  # the audit entry, with its actor


def test_replaying_the_events_in_received_order_ends_where_the_database_row_ended(
    supervisor, played_call
):
    story = dial_stories.dial_story(supervisor, played_call.pk)
    final = story.final_state
    dial = played_call
    assert final.status == dial.status == DialStatus.COMPLETED
    assert final.answered_at == dial.answered_at
    assert final.joined_at == dial.joined_at
    assert final.left_at == dial.left_at
    assert final.end_reason == dial.end_reason == "participant_hung_up"
    assert final.call_duration_seconds == dial.call_duration_seconds == 107
    assert final.sip_response_code == dial.sip_response_code == 200
    assert final.recording_sid == dial.recording_sid
    # Unmute (seq 4) arrived before mute (seq 3); the leave (seq 10) says unmuted.
    assert (final.muted, final.hold) == (dial.muted, dial.hold) == (False, False)
    # The state after each step, as the page shows it.
    states = {
        entry.event: entry.state.status
        for entry in story.timeline
        if entry.state is not None and entry.source == "callback"
    }
    assert states["ringing"] == DialStatus.RINGING
    assert states["participant-join"] == DialStatus.IN_PROGRESS
    mute_state = next(e.state for e in story.timeline if e.event == "participant-mute")
    assert mute_state is not None
    assert mute_state.muted is False  # an older event never flips a newer value back


def test_the_sip_password_is_never_stored_in_params_nor_shown(client, operator):
    secret = "pa55-w0rd-never-shown"
    dial = submit_dial(
        operator=operator,
        submission=DialSubmission(
            "support",
            {"To": "sip:alice@example.com", "From": "+15005550006", "SipAuthUsername": "alice"},
            sip_auth_password=secret,
        ),
    )
    assert "SipAuthPassword" not in dial.params
    assert secret not in str(dial.params)
    client.force_login(operator)
    html = detail(client, dial).content.decode()
    assert "SipAuthUsername" in html and secret not in html
    # Even a row that somehow held it would not show it.
    DialRequest.objects.filter(pk=dial.pk).update(
        params={**dial.params, "SipAuthPassword": secret}, response={"SipAuthPassword": secret}
    )
    html = detail(client, dial).content.decode()
    assert secret not in html and "SipAuthPassword" not in html


def test_parameters_as_sent_and_twilios_response_are_shown(client, supervisor, operator):
    dial = make_dial(
        operator,
        params={"To": "+14155550142", "Label": "x", "Timeout": "30", "Record": "true"},
        response={"call_sid": "CA" + "1" * 32, "status": "queued", "queue_time": "0"},
        participant_status="queued",
        queue_time_ms=1200,
    )
    client.force_login(supervisor)
    html = detail(client, dial).content.decode()
    assert "<dt>Timeout</dt><dd>30</dd>" in html
    assert "queue_time" in html and "queued 1200 ms" in html


@pytest.mark.parametrize(
    ("fields", "verdict"),
    [
        (
            {
                "status": DialStatus.FAILED,
                "error_code": 21211,
                "error_message": "",
                "failure_reason": "Twilio refused the call (21211)",
            },
            "Never joined: the call was never placed (Twilio refused the call (21211)).",
        ),
        (
            {"status": DialStatus.BUSY, "call_sid": "CA" + "2" * 32, "sip_response_code": 486},
            "Never joined: the line was busy.",
        ),
        (
            {"status": DialStatus.NO_ANSWER, "call_sid": "CA" + "3" * 32},
            "Never joined: nobody answered before Twilio stopped ringing.",
        ),
        (
            {
                "status": DialStatus.COMPLETED,
                "call_sid": "CA" + "4" * 32,
                "answered_by": "machine_end_beep",
                "answered_after": 5,
            },
            "Never joined: answered by an answering machine (after its beep), and the call ended.",
        ),
        (
            {
                "status": DialStatus.COMPLETED,
                "call_sid": "CA" + "5" * 32,
                "answered_after": 3,
                "in_conference_for": 125,
                "end_reason": "participant_hung_up",
            },
            "Joined the conference and left after 2m 05s: the caller hung up.",
        ),
        ({"status": DialStatus.RINGING}, "Ringing: the caller has not answered yet."),
    ],
)
def test_the_page_says_why_the_caller_never_joined(client, supervisor, operator, fields, verdict):
    dial = make_dial(operator, **fields)
    client.force_login(supervisor)
    html = detail(client, dial).content.decode()
    assert verdict.replace("'", "&#x27;") in html


def test_a_twilio_error_is_explained_with_its_code_and_words(client, supervisor, operator):
    dial = make_dial(operator, status=DialStatus.FAILED, error_code=21215)
    client.force_login(supervisor)
    html = detail(client, dial).content.decode()
    assert "Twilio error 21215: Calls to this country or region are not enabled" in html


def test_dial_again_links_to_the_dial_form_with_this_call(client, supervisor, operator):
    dial = make_dial(operator)
    client.force_login(supervisor)
    assert f'href="/?again={dial.pk}"' in detail(client, dial).content.decode()


def test_a_live_call_polls_its_story_fragment_and_stops_when_final(client, supervisor, operator):
    dial = make_dial(operator, status=DialStatus.RINGING)
    client.force_login(supervisor)
    page = detail(client, dial).content.decode()
    assert "<html" in page and 'hx-trigger="every 2s, dial-reconciled from:body"' in page
    fragment = detail(client, dial, HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    assert "<html" not in fragment.content.decode()
    assert fragment.content.decode().lstrip().startswith('<div id="story"')
    DialRequest.objects.filter(pk=dial.pk).update(status=DialStatus.COMPLETED)
    final = detail(client, dial, HTTP_HX_REQUEST="true")
    assert final.status_code == 286
    assert "hx-trigger" not in final.content.decode()
