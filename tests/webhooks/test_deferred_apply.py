"""The receiver stores, the callbacks process applies: nothing stored stays unapplied."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from conferences.callbacks import applier as callback_applier
from conferences.callbacks import tasks as callback_tasks
from conferences.models import CallbackEvent, DialRequest, DialStatus
from conferences.operations import webhook_health as webhook_health_reads
from tests.support.callbacks import TwilioSender, make_dial

pytestmark = pytest.mark.django_db


@pytest.fixture
def store_only(client: Client) -> TwilioSender:
    """Twilio, with no worker to apply what the receiver stores."""
    return TwilioSender(client, apply=False)


def test_the_receiver_stores_the_event_and_leaves_applying_to_the_callbacks_process(
    store_only, dial
):
    assert store_only.fixture(dial, "call-status-completed").status_code == 204

    event = CallbackEvent.objects.get()
    assert (event.applied_at, event.dial_id, event.event) == (None, None, "completed")
    assert DialRequest.objects.get(pk=dial.pk).status == DialStatus.PENDING

    call_command("apply_callbacks", "--once")  # what the `callbacks` process does

    event.refresh_from_db()
    assert event.applied_at is not None
    assert event.dial_id == dial.pk
    assert event.apply_attempts == 1
    assert DialRequest.objects.get(pk=dial.pk).status == DialStatus.COMPLETED


def test_with_redis_down_callbacks_are_still_stored_and_applied(store_only, dial, settings: Any):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    settings.CELERY_BROKER_URL = settings.REDIS_URL
    assert store_only.fixture(dial, "call-status-ringing").status_code == 204
    assert CallbackEvent.objects.filter(applied_at__isnull=True).count() == 1

    call_command("apply_callbacks", "--once")  # needs only the database

    assert not CallbackEvent.objects.filter(applied_at__isnull=True).exists()
    assert DialRequest.objects.get(pk=dial.pk).status == DialStatus.RINGING


def test_the_beat_backstop_applies_what_the_callbacks_process_did_not(store_only, dial):
    store_only.fixture(dial, "call-status-ringing")
    callback_tasks.apply_callbacks()  # beat runs it every SWEEP_INTERVAL_SECONDS
    assert DialRequest.objects.get(pk=dial.pk).status == DialStatus.RINGING


def test_an_event_that_cannot_be_applied_is_kept_tried_again_then_reported(
    store_only, operator, monkeypatch
):
    broken, healthy = make_dial(operator, label="broken"), make_dial(operator, label="ok")
    healthy.call_sid = "CA" + "1" * 32
    healthy.save(update_fields=["call_sid"])
    store_only.fixture(broken, "call-status-completed")
    store_only.fixture(healthy, "call-status-completed")
    real_apply = callback_applier.apply_event

    def apply_unless_broken(event: CallbackEvent) -> None:
        if event.dial_id == broken.pk:
            raise RuntimeError("a bug in applying")
        real_apply(event)

    monkeypatch.setattr(callback_applier, "apply_event", apply_unless_broken)

    report = callback_applier.apply_pending_callbacks()
    assert (report.applied, report.failed) == (1, 1)  # one bad event stops no other
    bad = CallbackEvent.objects.get(dial=broken)
    assert (bad.applied_at, bad.apply_attempts) == (None, 1)
    assert bad.apply_error == "RuntimeError: a bug in applying"
    assert DialRequest.objects.get(pk=healthy.pk).status == DialStatus.COMPLETED

    for _ in range(callback_applier.MAX_APPLY_ATTEMPTS):
        callback_applier.apply_pending_callbacks()
    bad.refresh_from_db()
    assert bad.apply_attempts == callback_applier.MAX_APPLY_ATTEMPTS  # then no more tries
    assert not callback_applier.unapplied_events().exists()
    problems = [
        f.text for f in webhook_health_reads.callback_findings() if "could not be applied" in f.text
    ]
    assert problems == [
        "1 stored callback could not be applied (a bug): see the logs for "
        "“Could not apply callback event”."
    ]

    monkeypatch.setattr(callback_applier, "apply_event", real_apply)  # the bug is fixed
    CallbackEvent.objects.filter(pk=bad.pk).update(apply_attempts=0)  # an operator retries
    callback_applier.apply_pending_callbacks()
    assert DialRequest.objects.get(pk=broken.pk).status == DialStatus.COMPLETED


def test_callbacks_waiting_a_minute_for_a_worker_are_a_finding(store_only, dial):
    store_only.fixture(dial, "call-status-ringing")
    assert not [f for f in webhook_health_reads.callback_findings() if "waiting" in f.text]
    CallbackEvent.objects.update(received_at=timezone.now() - timedelta(minutes=2))
    waiting = [f.text for f in webhook_health_reads.callback_findings() if "waiting" in f.text]
    assert waiting == [
        "1 callback stored over a minute ago still waiting to be applied: "
        "is the callbacks process (manage.py apply_callbacks) running?"
    ]


def _ring(sender: TwilioSender, operator: Any, label: str, call_sid: str) -> None:
    dial = make_dial(operator, label=label, call_sid=call_sid)
    assert sender.fixture(dial, "call-status-ringing", CallSid=call_sid).status_code == 204


def test_a_trickle_ends_the_pass_and_a_backlog_does_not(store_only, operator):
    """Under a steady stream the `callbacks` process waits after a small batch, so the next
    one holds what arrived meanwhile (one claim and one commit for many events) instead of
    spending both cores' time on transactions of one event each."""
    for index in range(3):
        _ring(store_only, operator, f"trickle-{index}", f"CA{index:032d}")

    report = callback_applier.apply_pending_callbacks(fill=20)
    assert (report.applied, report.more, report.trickle) == (3, False, True)

    for index in range(3, 6):
        _ring(store_only, operator, f"backlog-{index}", f"CA{index:032d}")
    report = callback_applier.apply_pending_callbacks(fill=3)  # a batch as large as `fill`
    assert (report.applied, report.trickle) == (3, False)
    assert not callback_applier.unapplied_events().exists()
