"""Celery tasks of the JSON API: thin, safe to run twice, scheduled by beat."""

from __future__ import annotations

from celery import shared_task

from conferences.api import idempotency
from conferences.core import task_queue


@shared_task(name=task_queue.FORGET_EXPIRED_IDEMPOTENCY_KEYS, acks_late=True, ignore_result=True)
def forget_expired_idempotency_keys() -> None:
    """Delete Idempotency-Key records past API_IDEMPOTENCY_KEY_HOURS (hourly, beat)."""
    idempotency.forget_expired_keys()
