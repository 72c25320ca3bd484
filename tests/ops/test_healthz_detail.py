"""/healthz/detail says in words what the webhook health page shows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from conferences.models import DialRequest, DialStatus
from conferences.operations import heartbeat
from tests.ops.scenario import play_known_hour
from tests.support.callbacks import TwilioSender, make_dial, payload_for

pytestmark = pytest.mark.django_db


def detail(client, supervisor):
    client.force_login(supervisor)
    return client.get("/healthz/detail")


def test_flowing_callbacks_are_healthy_and_say_when_the_last_came(
    client, operator, supervisor, redis_db
):
    play_known_hour(client, operator)
    heartbeat.write_heartbeat("celery@healthy")
    response = detail(client, supervisor)
    checks = response.json()["checks"]
    # One forged signature among accepted callbacks is worth a warning, not an outage.
    assert checks["callbacks"]["ok"] is True
    assert checks["callbacks"]["last_callback_age_seconds"] < 30
    assert [p["level"] for p in checks["callbacks"]["problems"]] == ["warning"] * 3
    assert checks["dials"] == {
        "ok": True,
        "detail": "no dial waits for a worker",
        "problems": [],
        "queue_length": 0,
        "waiting_for_worker": 0,
        "oldest_waiting_seconds": None,
    }
    assert response.status_code == 200


def test_refused_signatures_and_a_waiting_dial_make_it_unhealthy_in_words(
    client, operator, supervisor, redis_db, settings
):
    heartbeat.write_heartbeat("celery@healthy")
    dial = make_dial(operator)
    DialRequest.objects.filter(pk=dial.pk).update(status=DialStatus.COMPLETED)
    twilio = TwilioSender(client)
    params = payload_for(dial, "call-status-ringing")
    assert twilio.send("call-status", dial.pk, params, token="rotated-away").status_code == 403
    waiting = make_dial(operator, label="waiting", call_sid="")
    DialRequest.objects.filter(pk=waiting.pk).update(
        status=DialStatus.PENDING,
        created_at=timezone.now() - timedelta(seconds=settings.DIAL_LOST_AFTER_SECONDS * 3),
    )
    response = detail(client, supervisor)
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["callbacks"]["ok"] is False
    assert "refused this hour for a missing or wrong signature" in checks["callbacks"]["detail"]
    assert checks["dials"]["ok"] is False
    assert "1 dial is waiting for a worker" in checks["dials"]["detail"]
    assert checks["workers"]["ok"] is True
