"""Celery tasks of the callbacks area: apply stored callbacks, relay them, resend lost relays."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import shared_task
from celery.app.task import Task
from django.conf import settings
from django.utils import timezone

from conferences.callbacks import applier as callback_applier
from conferences.callbacks.relay import attempt_delivery, enqueue_relay, retry_delay
from conferences.core import task_queue
from conferences.models import (
    RelayDelivery,
    RelayDeliveryStatus,
)


@shared_task(
    name=task_queue.RELAY_CALLBACK,
    bind=True,
    acks_late=True,
    max_retries=None,
    ignore_result=True,
)
def relay_callback(self: Task[Any, Any], delivery_id: int) -> str:
    """Send one relay; retry with exponential backoff while the target fails for now."""
    result = attempt_delivery(delivery_id)
    if result.retry:
        attempts = RelayDelivery.objects.filter(pk=delivery_id).values_list("attempts", flat=True)
        raise self.retry(countdown=retry_delay(attempts.first() or 1))
    return str(result.status)


@shared_task(name=task_queue.RESEND_PENDING_RELAYS, ignore_result=True)
def resend_pending_relays(older_than_seconds: float = 600.0) -> int:
    """Enqueue relays left pending (their task lost in a broker outage); run it from beat."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    stale = RelayDelivery.objects.filter(status=RelayDeliveryStatus.PENDING).filter(
        created_at__lt=cutoff
    )
    stale = stale.exclude(last_attempt_at__gte=cutoff)
    ids = list(stale.values_list("pk", flat=True)[:500])
    for delivery_id in ids:
        enqueue_relay(delivery_id)
    return len(ids)


@shared_task(name=task_queue.APPLY_CALLBACKS, acks_late=True, ignore_result=True)
def apply_callbacks() -> None:
    """The backstop for the `callbacks` process (manage.py apply_callbacks): beat runs it
    every few seconds, so stored callbacks are applied even while that process is down."""
    report = callback_applier.apply_pending_callbacks(
        time_budget=settings.CELERY_TASK_SOFT_TIME_LIMIT / 2
    )
    if report.more:
        apply_callbacks.delay()
