"""/ops/webhooks/: callbacks per kind and hour, the last one seen, and problems in words."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from conferences.models import CallbackEvent, DialRequest, DialStatus
from conferences.operations import webhook_health as webhook_health_reads
from tests.ops.scenario import play_known_hour
from tests.support.callbacks import make_dial

pytestmark = pytest.mark.django_db

URL = reverse("conferences:webhook-health")


def test_the_hourly_counts_follow_a_known_hour(client, operator, redis_db):
    scenario = play_known_hour(client, operator)
    health = webhook_health_reads.webhook_health()
    call_status = next(row for row in health.rows if row.kind == "call-status")
    assert call_status.hour == timezone.now().replace(minute=0, second=0, microsecond=0)
    assert (
        call_status.received,
        call_status.applied,
        call_status.duplicates,
        call_status.out_of_order,
        call_status.rejected_signature,
        call_status.malformed,
        call_status.relay_failures,
    ) == (scenario.call_status_received, 3, 1, 1, 1, 1, 1)
    recording = next(row for row in health.rows if row.kind == "recording")
    assert (recording.received, recording.applied) == (1, 1)
    assert health.totals.received == scenario.call_status_received + 1
    assert health.last_callback_at is not None
    assert {last.kind for last in health.last_by_kind} == {"call-status", "recording"}


def test_supervisors_see_the_page_and_its_fragment(client, operator, supervisor, redis_db):
    play_known_hour(client, operator)
    client.force_login(supervisor)
    page = client.get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    assert "<h1>Webhook health</h1>" in html
    assert "Call status" in html
    assert "Send a test callback" in html
    assert 'hx-trigger="every 30s"' in html
    assert "HX-Request" in page["Vary"]
    fragment = client.get(URL, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<h1>" not in fragment.content.decode()
    assert "Per kind and hour" in fragment.content.decode()
    # htmx restoring its history wants the whole page back.
    restore = client.get(URL, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<h1>Webhook health</h1>" in restore.content.decode()


def test_operators_may_not_open_it(client, operator):
    client.force_login(operator)
    assert client.get(URL).status_code == 403


def test_a_broken_signature_setting_is_a_problem_in_words(client, operator, redis_db):
    dial = make_dial(operator)
    from tests.support.callbacks import TwilioSender, payload_for

    twilio = TwilioSender(client)
    for sequence in range(3):
        params = payload_for(dial, "call-status-ringing", SequenceNumber=str(sequence))
        assert twilio.send("call-status", dial.pk, params, token="old-token").status_code == 403
    findings = webhook_health_reads.callback_findings()
    assert [f.level for f in findings] == [webhook_health_reads.Level.PROBLEM]
    assert "3 callbacks refused this hour for a missing or wrong signature" in findings[0].text
    assert "(0 accepted)" in findings[0].text


def test_live_calls_without_callbacks_are_a_problem_and_stuck_ones_a_warning(operator, settings):
    settings.RECONCILE_AFTER_SECONDS = 600
    dial = make_dial(operator)
    DialRequest.objects.filter(pk=dial.pk).update(status=DialStatus.RINGING)
    DialRequest.objects.filter(pk=dial.pk).update(updated_at=timezone.now() - timedelta(minutes=15))
    texts = {f.level: f.text for f in webhook_health_reads.callback_findings()}
    assert texts[webhook_health_reads.Level.PROBLEM].startswith(
        "No callback has ever arrived while 1 call is"
    )
    assert (
        "1 call has been queued or ringing for over 10 min"
        in texts[webhook_health_reads.Level.WARNING]
    )


def test_all_quiet_is_fine(operator):
    assert webhook_health_reads.callback_findings() == []
    assert CallbackEvent.objects.count() == 0
