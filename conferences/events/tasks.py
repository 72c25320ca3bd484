"""Celery tasks of scheduled conferences: thin, safe to run twice (the claim decides)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from celery import shared_task

from conferences.core import task_queue
from conferences.events import dial_out

logger = logging.getLogger(__name__)


@shared_task(name=task_queue.DIAL_DUE_EVENTS, acks_late=True, ignore_result=True)
def dial_due_events(now: str | None = None) -> None:
    """Dial out every scheduled conference that is due (beat). `now`, an ISO 8601 time,
    moves the clock forward for a test or a drill; the beat leaves it out."""
    moment = datetime.fromisoformat(now) if now else None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    for report in dial_out.dial_due_events(moment):
        logger.info(
            "event %s %s: %s dialed, %s already on their way, %s refused",
            report.event_id,
            "dialing, a role waiting for the one before it" if report.holding else "dialed out",
            report.dialed,
            report.skipped,
            report.refused,
        )
