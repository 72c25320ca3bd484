"""Celery tasks of the live conference pages: thin, ids in, safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task

from conferences.core import task_queue
from conferences.live import sweeps

logger = logging.getLogger(__name__)


@shared_task(name=task_queue.SWEEP_LIVE_CONFERENCES, acks_late=True, ignore_result=True)
def sweep_live_conferences() -> None:
    """Remove answering machines from conferences and redial dropped invitees (beat)."""
    report = sweeps.sweep_live_conferences()
    if report.voicemail_removed or report.redialed:
        logger.info(
            "live sweep: %s answering machines removed, %s invitees redialed",
            report.voicemail_removed,
            report.redialed,
        )
