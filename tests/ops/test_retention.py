"""Retention: personal data past RETENTION_DAYS goes; timelines, figures and the trail stay.

Callbacks are stored through the real webhook URL with real signatures; recordings are
deleted against a local stand-in for Twilio's Recordings API (the sandbox has none).
"""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Avg
from django.forms.models import model_to_dict
from django.utils import timezone

from conferences.audit.trail import AuditAction
from conferences.callbacks.durations import DURATION_ANNOTATIONS
from conferences.models import (
    AuditEntry,
    CallbackEvent,
    Conference,
    DialAttempt,
    DialRequest,
    Invitee,
)
from conferences.operations import retention
from conferences.operations import tasks as ops_tasks
from tests.ops.helpers import FakeRecordings, serving
from tests.support.callbacks import FIXTURE_LABEL, TwilioSender, make_dial

pytestmark = pytest.mark.django_db

NUMBER = "+14155550142"  # the caller's number in every fixture
CALL_RECORDING = "RE5c0a7e3b9d2f41c8a6e4b1d7f3c90e28"
CONFERENCE_RECORDING = "RE8e2d6b4f0a9c47d1b3e5a7c9f2d40b61"
PERSONAL = (NUMBER, NUMBER[2:], FIXTURE_LABEL, "weekly-sync", "Ada Lovelace", "api.twilio.com")
TIMELINE = [
    "call-status-initiated",
    "call-status-ringing",
    "call-status-in-progress",
    "participant-join",
    "recording-completed",
    "participant-leave",
    "call-status-completed",
    "conference-recording-completed",
]


@pytest.fixture
def twilio_recordings(settings):
    fake = FakeRecordings(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)
    with serving(fake.handle) as url:
        settings.TWILIO_API_BASE_URL = url
        fake.url = url
        yield fake


@pytest.fixture
def old_call(client, operator, supervisor):
    """A whole call 40 days ago, with its attempt log, invite list and audit entry."""
    dial = make_dial(operator)
    twilio = TwilioSender(client)
    for name in TIMELINE:
        assert twilio.fixture(dial, name).status_code == 204, name
    message = f"The 'To' number {NUMBER} is not a valid phone number."
    DialAttempt.objects.create(
        dial=dial, number=1, outcome=DialAttempt.Outcome.RETRYABLE_ERROR, detail=message
    )
    DialRequest.objects.filter(pk=dial.pk).update(
        to_number=NUMBER,
        params={"To": NUMBER, "From": "+15005550006", "Label": FIXTURE_LABEL, "Timeout": "30"},
        response={"call_sid": dial.call_sid, "label": FIXTURE_LABEL, "status": "queued"},
        error_message=message,
    )
    Invitee.objects.create(conference=dial.conference, number=NUMBER, name="Ada Lovelace")
    from conferences.audit import trail as audit

    audit.record(AuditAction.DIAL, actor=operator, dial=dial)
    long_ago = timezone.now() - timedelta(days=40)
    DialRequest.objects.filter(pk=dial.pk).update(created_at=long_ago)
    Conference.objects.filter(pk=dial.conference_id).update(created_at=long_ago)
    CallbackEvent.objects.update(received_at=long_ago)
    return DialRequest.objects.get(pk=dial.pk)


@pytest.fixture
def recent_call(operator):
    return make_dial(operator, label="recent", call_sid="CA" + "3" * 32)


def figures(dial: DialRequest) -> dict[str, Any]:
    """What timelines, charts and the overview read: none of it personal."""
    dial = DialRequest.objects.annotate(**DURATION_ANNOTATIONS).get(pk=dial.pk)
    kept = {
        name: getattr(dial, name)
        for name in (
            "status",
            "operator_id",
            "conference_id",
            "created_at",
            "answered_by",
            "answered_at",
            "joined_at",
            "left_at",
            "ended_at",
            "call_duration_seconds",
            "sip_response_code",
            "error_code",
            "end_reason",
            "recording_sid",
            "recording_duration_seconds",
            "time_to_answer",
            "time_in_conference",
            "call_sid",
        )
    }
    kept["timeline"] = list(
        CallbackEvent.objects.filter(conference_id=dial.conference_id)
        .order_by("pk")
        .values_list(
            "kind",
            "event",
            "sequence_number",
            "twilio_timestamp",
            "received_at",
            "applied_at",
            "dedupe_key",
            "call_sid",
            "conference_sid",
        )
    )
    kept["average_talk"] = DialRequest.objects.aggregate(Avg("call_duration_seconds"))
    kept["audit"] = list(AuditEntry.objects.filter(dial=dial).values_list("pk", "action", "at"))
    return kept


def personal_text(dial: DialRequest) -> str:
    """Every stored value that could hold the call's personal data, as one text."""
    dial = DialRequest.objects.get(pk=dial.pk)
    parts = [
        json.dumps(model_to_dict(dial), default=str),
        json.dumps(list(CallbackEvent.objects.values_list("params", flat=True))),
        json.dumps(list(DialAttempt.objects.values_list("detail", flat=True))),
        json.dumps(list(Conference.objects.filter(pk=dial.conference_id).values()), default=str),
        json.dumps(list(Invitee.objects.values("number", "name", "label"))),
    ]
    return "\n".join(parts)


def test_a_dry_run_reports_what_it_would_purge_and_changes_nothing(
    old_call, recent_call, twilio_recordings
):
    before = personal_text(old_call)
    report = retention.purge_personal_data(days=30, dry_run=True)
    assert report is not None
    assert (report.dials, report.attempts, report.events, report.conferences) == (1, 1, 8, 1)
    assert (report.invitees, report.recordings) == (1, 2)
    assert personal_text(old_call) == before
    assert twilio_recordings.deleted == []
    assert not AuditEntry.objects.filter(action=AuditAction.PURGE).exists()


def test_purging_leaves_no_number_label_name_or_recording_url(
    old_call, recent_call, twilio_recordings
):
    for text in PERSONAL:
        assert text in personal_text(old_call)
    retention.purge_personal_data(days=30)
    text = personal_text(old_call)
    for personal in PERSONAL:
        assert personal not in text, personal
    dial = DialRequest.objects.get(pk=old_call.pk)
    assert (dial.to_number, dial.from_number, dial.label) == ("", "", f"purged-{dial.pk}")
    assert dial.params == {
        "To": "[purged]",
        "From": "[purged]",
        "Label": "[purged]",
        "Timeout": "30",
    }
    assert dial.error_message == "The 'To' number [purged] is not a valid phone number."
    assert dial.purged_at is not None
    # The recent call keeps everything.
    assert DialRequest.objects.get(pk=recent_call.pk).to_number == NUMBER


def test_purging_keeps_timelines_charts_and_the_audit_trail(
    old_call, recent_call, twilio_recordings
):
    before = figures(old_call)
    assert before["time_to_answer"] is not None
    assert before["time_in_conference"] is not None
    assert len(before["timeline"]) == len(TIMELINE)
    retention.purge_personal_data(days=30)
    assert figures(old_call) == before
    purge = AuditEntry.objects.get(action=AuditAction.PURGE)
    assert purge.outcome == "ok"
    assert purge.detail["dials"] == 1
    assert purge.detail["events"] == len(TIMELINE)
    assert purge.detail["recordings_deleted"] == 2


def test_recordings_are_deleted_at_twilio_and_one_that_fails_keeps_its_record(
    old_call, twilio_recordings
):
    twilio_recordings.broken.add(CONFERENCE_RECORDING)
    report = retention.purge_personal_data(days=30)
    assert report is not None
    assert twilio_recordings.deleted == [CALL_RECORDING]
    assert twilio_recordings.unauthorized == 0
    assert report.recordings_failed == [CONFERENCE_RECORDING]
    waiting = CallbackEvent.objects.get(kind="conference-recording")
    assert waiting.purged_at is None
    assert "api.twilio.com" in waiting.params["RecordingUrl"]
    assert AuditEntry.objects.get(action=AuditAction.PURGE).outcome == "failed"

    twilio_recordings.broken.clear()  # Twilio is back: the next run finishes the job
    report = retention.purge_personal_data(days=30)
    assert report is not None
    assert (report.recordings, report.events, report.dials) == (1, 1, 0)
    assert CallbackEvent.objects.get(kind="conference-recording").purged_at is not None


def test_a_recording_already_gone_at_twilio_counts_as_deleted(old_call, twilio_recordings):
    twilio_recordings.gone.update({CALL_RECORDING, CONFERENCE_RECORDING})
    report = retention.purge_personal_data(days=30)
    assert report is not None
    assert (report.recordings, report.recordings_already_gone, report.recordings_failed) == (
        0,
        2,
        [],
    )
    assert DialRequest.objects.get(pk=old_call.pk).purged_at is not None


def test_a_second_purge_finds_nothing_and_adds_no_audit_entry(old_call, twilio_recordings):
    retention.purge_personal_data(days=30)
    report = retention.purge_personal_data(days=30)
    assert report is not None
    assert not report.anything
    assert AuditEntry.objects.filter(action=AuditAction.PURGE).count() == 1


def test_retention_zero_keeps_everything_forever(old_call, settings, twilio_recordings):
    settings.RETENTION_DAYS = 0
    before = personal_text(old_call)
    ops_tasks.purge_personal_data.apply()
    out = StringIO()
    call_command("purge_personal_data", stdout=out)
    assert "kept forever" in out.getvalue()
    assert personal_text(old_call) == before


def test_the_daily_task_purges_past_the_setting(old_call, settings, twilio_recordings):
    settings.RETENTION_DAYS = 30
    ops_tasks.purge_personal_data.apply()
    assert DialRequest.objects.get(pk=old_call.pk).to_number == ""
    assert AuditEntry.objects.get(action=AuditAction.PURGE).detail["trigger"] == "daily task"


def test_the_command_dry_run_prints_what_it_would_purge(old_call, settings, twilio_recordings):
    settings.RETENTION_DAYS = 30
    out = StringIO()
    call_command("purge_personal_data", "--dry-run", stdout=out)
    printed = out.getvalue()
    assert "Would purge personal data recorded before" in printed
    assert "dials: 1 (and 1 attempt logs)" in printed
    assert "callback events: 8" in printed
    assert "recordings to delete at Twilio: 2" in printed
    assert DialRequest.objects.get(pk=old_call.pk).to_number == NUMBER


def test_the_command_fails_loudly_when_a_recording_cannot_be_deleted(old_call, twilio_recordings):
    twilio_recordings.broken.add(CALL_RECORDING)
    out = StringIO()
    with pytest.raises(CommandError, match="1 recordings could not be deleted"):
        call_command("purge_personal_data", "--days", "30", stdout=out)
    assert f"recordings NOT deleted (their records kept for the next run): {CALL_RECORDING}" in (
        out.getvalue()
    )
    assert DialRequest.objects.get(pk=old_call.pk).purged_at is None


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        ("The 'To' number +14155550142 is not valid", "The 'To' number [purged] is not valid"),
        (
            "call CA7d41e9b02c3f48a6b5d1e0f9a8c72b64, queued",
            "call CA7d41e9b02c3f48a6b5d1e0f9a8c72b64, queued",
        ),
        ("dialing (415) 555-0142 now", "dialing ([purged] now"),
        ("To sip:alice@pbx.example.com failed", "To [purged] failed"),
        ("error 21211 after 30 s", "error 21211 after 30 s"),
    ],
)
def test_numbers_and_addresses_are_scrubbed_from_free_text_and_sids_are_not(text, scrubbed):
    assert retention.scrub_text(text) == scrubbed
