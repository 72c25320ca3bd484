"""The sweeper on its own: what it does to dials whose worker or task went missing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from conferences.dialing import sweeper
from conferences.models import CallbackEvent, CallbackKind, DialRequest, DialStatus
from tests.pipeline.helpers import stored_dial

pytestmark = pytest.mark.django_db


def _dial(operator, **fields) -> DialRequest:
    return stored_dial(operator, "swept", **fields)


def test_a_dial_moved_on_by_callbacks_after_its_worker_died_is_recorded_as_placed(
    operator, settings
):
    settings.DIAL_STALE_CLAIM_SECONDS = 5
    long_ago = timezone.now() - timedelta(seconds=60)
    dial = _dial(operator, status=DialStatus.IN_PROGRESS, heartbeat_at=long_ago)
    CallbackEvent.objects.create(
        kind=CallbackKind.CALL_STATUS,
        dial=dial,
        account_sid=dial.account.account_sid,
        call_sid="CA" + "1" * 32,
        event="in-progress",
        params={},
        dedupe_key="swept-1",
    )
    report = sweeper.sweep_dials()
    dial.refresh_from_db()
    assert report.adopted == 1
    assert dial.placed_at is not None and dial.placed_by_check == "callback"
    assert dial.status == DialStatus.IN_PROGRESS


def test_a_dial_without_callbacks_is_not_taken_for_placed(operator, settings):
    settings.DIAL_STALE_CLAIM_SECONDS = 5
    long_ago = timezone.now() - timedelta(seconds=60)
    dial = _dial(operator, status=DialStatus.FAILED, heartbeat_at=long_ago, failure_reason="x")
    assert sweeper.sweep_dials().adopted == 0
    dial.refresh_from_db()
    assert dial.placed_at is None


def test_a_stale_claim_goes_back_to_pending_and_must_be_verified(operator, settings, redis_db):
    settings.DIAL_STALE_CLAIM_SECONDS = 5
    dial = _dial(
        operator, status=DialStatus.PLACING, heartbeat_at=timezone.now() - timedelta(seconds=60)
    )
    assert sweeper.sweep_dials().stale_claims == 1
    dial.refresh_from_db()
    assert dial.status == DialStatus.PENDING and dial.needs_verification is True
