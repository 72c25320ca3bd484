"""Celery tasks: thin. Ids in, claim the row, hand over to a service; safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from kombu.exceptions import OperationalError

from conferences import callbacks, services

# Tasks defined beside their services; importing them here lets the worker register them.
from conferences.live_tasks import sweep_live_conferences  # noqa: F401
from conferences.ops_tasks import purge_personal_data, reconcile_stale  # noqa: F401
from conferences.relay import relay_callback, resend_pending_relays  # noqa: F401

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def place_dial(dial_id: int) -> None:
    if not services.claim_dial(dial_id):
        return  # someone else has it, it is not due yet, or it is done
    services.place_dial(dial_id)


@shared_task(acks_late=True, ignore_result=True)
def sweep_dials() -> None:
    services.sweep_dials()


def enqueue_place_dial(dial_id: int, countdown: float = 0.0) -> None:
    """Enqueue; if the broker is down, the sweeper enqueues it later, so nothing is lost."""
    try:
        place_dial.apply_async((dial_id,), countdown=max(0.0, countdown))
    except OperationalError as error:
        logger.warning(
            "dial %s not enqueued (broker unavailable: %s); the sweeper will", dial_id, error
        )


@shared_task(acks_late=True, ignore_result=True)
def apply_callbacks() -> None:
    """The backstop for the `callbacks` process (manage.py apply_callbacks): beat runs it
    every few seconds, so stored callbacks are applied even while that process is down."""
    report = callbacks.apply_pending_callbacks(time_budget=settings.CELERY_TASK_SOFT_TIME_LIMIT / 2)
    if report.more:
        apply_callbacks.delay()
