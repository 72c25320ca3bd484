"""Enqueueing a dial's placement: by the task's pinned name, and never lost to a broker outage."""

from __future__ import annotations

import logging

from kombu.exceptions import OperationalError

from conferences.core import task_queue

logger = logging.getLogger(__name__)


def enqueue_place_dial(dial_id: int, countdown: float = 0.0) -> None:
    """Enqueue; if the broker is down, the sweeper enqueues it later, so nothing is lost."""
    try:
        task_queue.task(task_queue.PLACE_DIAL).apply_async(
            (dial_id,), countdown=max(0.0, countdown)
        )
    except OperationalError as error:
        logger.warning(
            "dial %s not enqueued (broker unavailable: %s); the sweeper will", dial_id, error
        )
