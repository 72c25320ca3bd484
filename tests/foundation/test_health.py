from __future__ import annotations

import time

import pytest

from conferences.operations import heartbeat

pytestmark = pytest.mark.django_db


def test_liveness_answers_ok_without_signing_in(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"


def test_detail_is_for_staff_only(client, operator):
    client.force_login(operator)
    response = client.get("/healthz/detail")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_detail_reports_a_missing_worker_heartbeat(client, supervisor, redis_db):
    client.force_login(supervisor)
    response = client.get("/healthz/detail")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["ok"] is True
    assert checks["redis"]["ok"] is True
    assert checks["workers"]["ok"] is False
    assert "no worker heartbeat" in checks["workers"]["detail"]


def test_detail_is_healthy_with_a_fresh_heartbeat_and_shows_its_age(client, supervisor, redis_db):
    heartbeat.write_heartbeat("celery@test-host")
    client.force_login(supervisor)
    response = client.get("/healthz/detail")
    assert response.status_code == 200
    workers = response.json()["checks"]["workers"]
    assert workers["ok"] is True
    assert workers["workers"][0]["name"] == "celery@test-host"
    assert workers["newest_age_seconds"] < 5


def test_detail_flags_a_stale_heartbeat(client, supervisor, redis_db, settings):
    redis_db.set(settings.WORKER_HEARTBEAT_KEY_PREFIX + "celery@old", f"{time.time() - 600:.3f}")
    client.force_login(supervisor)
    workers = client.get("/healthz/detail").json()["checks"]["workers"]
    assert workers["ok"] is False
    assert "may be stuck" in workers["detail"]


def test_detail_reports_redis_unreachable_without_touching_the_shared_server(
    client, supervisor, settings
):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    client.force_login(supervisor)
    response = client.get("/healthz/detail")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["redis"]["ok"] is False
    assert "redis unreachable" in checks["redis"]["detail"]
    assert checks["database"]["ok"] is True
    # Liveness does not care about Redis: the web tier stays in the load balancer.
    assert client.get("/healthz").status_code == 200
