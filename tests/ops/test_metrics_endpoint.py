"""/metrics: Prometheus text behind a bearer token, with exact values after a known hour."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from conferences.models import DialRequest, DialStatus
from conferences.operations import heartbeat
from conferences.operations.queues import celery_queue_keys
from tests.ops.helpers import parse_prometheus, sample
from tests.ops.scenario import LAG_SECONDS, play_known_hour
from tests.support.callbacks import make_dial

pytestmark = pytest.mark.django_db

TOKEN = "s3cret-scrape-token"


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client, token: str | None = TOKEN):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get("/metrics", headers=headers)


def test_metrics_are_off_when_no_token_is_set(client, settings):
    settings.METRICS_TOKEN = ""
    assert scrape(client).status_code == 404


def test_a_missing_or_wrong_token_is_refused_without_signing_in(client, token):
    assert scrape(client, token=None).status_code == 403
    assert scrape(client, token="guess").status_code == 403
    response = client.get("/metrics", headers={"Authorization": TOKEN})  # no "Bearer"
    assert response.status_code == 403


def test_the_right_token_gets_prometheus_text_without_a_session(client, token, redis_db):
    response = scrape(client)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert "no-cache" in response["Cache-Control"]
    samples = parse_prometheus(response.content.decode())
    assert sample(samples, "dialin_dials", status="pending") == 0
    assert sample(samples, "dialin_redis_up") == 1


def test_metric_values_after_a_known_hour(client, token, operator, redis_db, settings):
    scenario = play_known_hour(client, operator)
    waiting = make_dial(operator, label="waiting", call_sid="")
    DialRequest.objects.filter(pk=waiting.pk).update(
        created_at=timezone.now() - timedelta(seconds=90)
    )
    ringing = make_dial(operator, label="ringing", call_sid="CA" + "1" * 32)
    DialRequest.objects.filter(pk=ringing.pk).update(status=DialStatus.RINGING)
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    redis_db.lpush(celery_queue_keys(queue)[0], "task-1", "task-2")
    redis_db.lpush(celery_queue_keys(queue)[1], "task-3")  # a higher-priority list
    heartbeat.write_heartbeat("celery@metrics-test", redis_db)

    samples = parse_prometheus(scrape(client).content.decode())

    assert sample(samples, "dialin_dials", status="completed") == 1
    assert sample(samples, "dialin_dials", status="ringing") == 1
    assert sample(samples, "dialin_dials", status="pending") == 1
    assert sample(samples, "dialin_celery_queue_length", queue=queue) == 3
    assert 90 <= sample(samples, "dialin_oldest_pending_dial_age_seconds") < 120
    assert sample(samples, "dialin_callbacks_total", kind="call-status") == 3
    assert sample(samples, "dialin_callbacks_total", kind="recording") == 1
    assert sample(samples, "dialin_callbacks_total", kind="amd") == 0
    assert sample(samples, "dialin_callback_duplicates_total", kind="call-status") == 1
    assert sample(samples, "dialin_callback_out_of_order_total", kind="call-status") == 1
    assert (
        sample(
            samples, "dialin_webhook_rejections_total", kind="call-status", reason="bad-signature"
        )
        == scenario.bad_signatures
    )
    assert (
        sample(samples, "dialin_webhook_rejections_total", kind="call-status", reason="malformed")
        == scenario.malformed
    )
    assert sample(samples, "dialin_relay_failures_total", kind="call-status") == 1
    assert sample(samples, "dialin_callbacks_unapplied") == 0
    assert sample(samples, "dialin_callback_lag_seconds_count") == scenario.stored
    for quantile in ("0.5", "0.9", "0.99"):
        lag = sample(samples, "dialin_callback_lag_seconds", quantile=quantile)
        assert LAG_SECONDS <= lag < LAG_SECONDS + 2, (quantile, lag)
    last = sample(samples, "dialin_last_callback_timestamp_seconds")
    assert abs(last - timezone.now().timestamp()) < 30
    assert sample(samples, "dialin_workers_alive") == 1
    assert sample(samples, "dialin_worker_heartbeat_age_seconds", worker="celery@metrics-test") < 5


def test_redis_down_still_answers_with_what_the_database_knows(client, token, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    samples = parse_prometheus(scrape(client).content.decode())
    assert sample(samples, "dialin_redis_up") == 0
    assert sample(samples, "dialin_dials", status="completed") == 0
    assert not any(name == "dialin_celery_queue_length" for name, _labels in samples)
