"""Celery tasks for operations (issue 12): thin, safe to run twice, scheduled by beat."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from conferences.core import task_queue
from conferences.operations import reconcile, retention


@shared_task(name=task_queue.RECONCILE_STALE, acks_late=True, ignore_result=True)
def reconcile_stale() -> None:
    """Ask Twilio about dials and conferences whose callbacks seem lost (each one claimed)."""
    reconcile.reconcile_stale()


@shared_task(name=task_queue.PURGE_PERSONAL_DATA, acks_late=True, ignore_result=True)
def purge_personal_data() -> None:
    """Purge personal data past RETENTION_DAYS; a second run finds nothing left to purge."""
    if settings.RETENTION_DAYS > 0:
        retention.purge_personal_data(trigger="daily task")
