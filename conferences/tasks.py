"""Celery tasks: thin. Ids in, claim the row, hand over to a service; safe to run twice."""

from __future__ import annotations

import contextlib
import logging

import redis
from celery import shared_task
from django.conf import settings
from kombu.exceptions import OperationalError

from conferences import callbacks, services
from conferences.heartbeat import redis_client

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


# Set while an apply task is queued, so a burst of callbacks queues one task, not one each.
# It expires on its own: a task lost with it costs at most this long (or one beat sweep).
_APPLY_REQUEST_TTL_MS = 2000


def _apply_request_key() -> str:
    return f"dashboard:{settings.CELERY_TASK_DEFAULT_QUEUE}:apply-callbacks-requested"


def request_callback_apply() -> None:
    """Ask a worker to apply stored callbacks, unless a request is already waiting.

    Never raises: the event is stored, so with Redis or the broker down the beat sweep
    applies it later.
    """
    try:
        if redis_client().set(_apply_request_key(), "1", nx=True, px=_APPLY_REQUEST_TTL_MS):
            apply_callbacks.delay()
    except (redis.RedisError, OperationalError) as error:
        logger.warning("callback apply not requested (%s); the beat sweep will apply it", error)


@shared_task(acks_late=True, ignore_result=True)
def apply_callbacks() -> None:
    """Apply every stored callback waiting; also the beat sweep that catches lost requests."""
    # First, so a callback stored from now on asks for another run instead of relying on
    # this one having seen it. Without Redis the key expires by itself.
    with contextlib.suppress(redis.RedisError):
        redis_client().delete(_apply_request_key())
    report = callbacks.apply_pending_callbacks(time_budget=settings.CELERY_TASK_SOFT_TIME_LIMIT / 2)
    if report.more:
        apply_callbacks.delay()
