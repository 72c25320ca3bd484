"""Webhook requests Django refuses before (or while) the view reads them are counted on
webhook health and /metrics (issue 18, finding 6): a Host outside ALLOWED_HOSTS, more form
fields than DATA_UPLOAD_MAX_NUMBER_FIELDS, a body past DATA_UPLOAD_MAX_MEMORY_SIZE."""

from __future__ import annotations

import pytest

from conferences.operations.prometheus import prometheus_text
from conferences.operations.webhook_health import callback_findings, hourly_rows
from tests.support.callbacks import payload_for
from tests.webhooks.helpers import rejections, stored

pytestmark = pytest.mark.django_db


def test_a_callback_with_a_host_outside_allowed_hosts_is_counted(twilio, dial):
    sent = twilio.send(
        "call-status",
        dial.pk,
        payload_for(dial, "call-status-ringing"),
        headers={"Host": "internal-proxy-name:8000"},
    )
    assert sent.status_code == 400  # Django's answer, as before
    assert stored() == 0
    assert rejections("call-status", "bad-host") == 1
    assert any("ALLOWED_HOSTS" in finding.text for finding in callback_findings())
    assert 'dialin_webhook_rejections_total{kind="call-status",reason="bad-host"} 1' in (
        prometheus_text()
    )


def test_a_callback_with_too_many_fields_is_counted_and_answered_400(twilio, dial, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    params = payload_for(dial, "call-status-ringing") | {f"Extra{i}": "x" for i in range(20)}
    sent = twilio.send("call-status", dial.pk, params)
    assert sent.status_code == 400
    assert stored() == 0
    assert rejections("call-status", "too-many-fields") == 1
    (row,) = [row for row in hourly_rows(dial.created_at.replace(minute=0)) if row.malformed]
    assert (row.kind, row.malformed) == ("call-status", 1)


def test_a_body_past_djangos_own_limit_is_counted_as_too_large(twilio, dial, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1500  # below WEBHOOK_MAX_BODY_BYTES
    params = payload_for(dial, "call-status-ringing", Padding="x" * 3000)
    sent = twilio.send("call-status", dial.pk, params)
    assert sent.status_code == 413
    assert rejections("call-status", "too-large") == 1
