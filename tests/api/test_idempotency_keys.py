"""Idempotency-Key: a client that retries gets the same dial, and the sandbox one call."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from conferences.accounts import roles
from conferences.core import task_queue
from conferences.models import ApiIdempotencyKey, DialRequest, DialStatus, User
from tests.api.helpers import CALLER_ID, ApiClient, error_of, token_for
from tests.support.dialing import creates, participants_in, refreshed
from tests.support.users import make_user
from tests.support.waiting import wait_for
from tests.support.workers import Workers
from twilio_sandbox import Sandbox

BODY = {"conference": "retry-standup", "To": "+15005550006", "From": CALLER_ID}


@pytest.mark.pipeline
@pytest.mark.django_db(transaction=True)
def test_the_same_key_twice_makes_one_dial_and_one_call(
    operator: User, workers: Workers, sandbox: Sandbox, redis_db: Any
) -> None:
    workers.start(concurrency=1)
    api = ApiClient(token_for(operator))
    first = api.post("/api/v1/dials", BODY, **{"Idempotency-Key": "crm-42"})
    assert first.status_code == 201
    dial = DialRequest.objects.get(pk=first.json()["id"])
    wait_for(lambda: refreshed(dial).status == DialStatus.IN_PROGRESS, timeout=30)

    again = api.post("/api/v1/dials", BODY, **{"Idempotency-Key": "crm-42"})
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == dial.pk
    assert DialRequest.objects.count() == 1
    assert len(creates(sandbox, succeeded=True)) == 1
    assert participants_in(sandbox, BODY["To"]) == 1


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_a_409_and_dials_nobody(
    operator: User, operator_api: ApiClient
) -> None:
    assert operator_api.post("/api/v1/dials", BODY, **{"Idempotency-Key": "k1"}).status_code == 201
    other = operator_api.post(
        "/api/v1/dials", {**BODY, "To": "+14155550199"}, **{"Idempotency-Key": "k1"}
    )
    assert other.status_code == 409
    assert error_of(other)["code"] == "idempotency_key_reused"
    assert DialRequest.objects.count() == 1


@pytest.mark.django_db
def test_keys_belong_to_their_user(operator: User, operator_api: ApiClient) -> None:
    other = ApiClient(token_for(make_user("otto", roles.OPERATOR)))
    mine = operator_api.post("/api/v1/dials", BODY, **{"Idempotency-Key": "same"})
    theirs = other.post(
        "/api/v1/dials", {**BODY, "conference": "otto-call"}, **{"Idempotency-Key": "same"}
    )
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]


@pytest.mark.django_db
def test_a_failed_validation_keeps_the_key_free(operator_api: ApiClient) -> None:
    bad = operator_api.post("/api/v1/dials", {**BODY, "Timeout": 1}, **{"Idempotency-Key": "k2"})
    assert bad.status_code == 422
    good = operator_api.post("/api/v1/dials", BODY, **{"Idempotency-Key": "k2"})
    assert good.status_code == 201


def _age_keys(hours: float, **which: str) -> None:
    ApiIdempotencyKey.objects.filter(**which).update(
        created_at=timezone.now() - timedelta(hours=hours)
    )


@pytest.mark.django_db
def test_a_key_past_its_hours_makes_a_new_dial_even_before_the_task_forgets_it(
    operator_api: ApiClient,
) -> None:
    first = operator_api.post("/api/v1/dials", BODY, **{"Idempotency-Key": "daily"})
    _age_keys(settings.API_IDEMPOTENCY_KEY_HOURS - 0.1)
    replayed = operator_api.post("/api/v1/dials", BODY, **{"Idempotency-Key": "daily"})
    assert replayed.status_code == 200 and replayed.json()["id"] == first.json()["id"]

    _age_keys(settings.API_IDEMPOTENCY_KEY_HOURS + 0.1)
    anew = operator_api.post("/api/v1/dials", BODY, **{"Idempotency-Key": "daily"})
    assert anew.status_code == 201
    assert anew.json()["id"] != first.json()["id"]
    assert ApiIdempotencyKey.objects.get(key="daily").dial_id == anew.json()["id"]


@pytest.mark.django_db
def test_the_hourly_task_forgets_expired_keys_and_keeps_their_dials(
    operator_api: ApiClient,
) -> None:
    for key in ("old", "fresh"):
        operator_api.post("/api/v1/dials", {**BODY, "Label": key}, **{"Idempotency-Key": key})
    _age_keys(settings.API_IDEMPOTENCY_KEY_HOURS + 1, key="old")

    task_queue.task(task_queue.FORGET_EXPIRED_IDEMPOTENCY_KEYS).apply()

    assert list(ApiIdempotencyKey.objects.values_list("key", flat=True)) == ["fresh"]
    assert DialRequest.objects.count() == 2
    assert any(
        entry["task"] == task_queue.FORGET_EXPIRED_IDEMPOTENCY_KEYS
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
    )
