"""Celery tasks of the dialing pipeline: thin. Ids in, claim the row, hand over to a service;
safe to run twice.

Task names are pinned to where the tasks first lived, so the beat schedule, routing and
messages already queued keep working whatever module a task lives in.
"""

from __future__ import annotations

import logging

from celery import shared_task

from conferences.core import task_queue
from conferences.dialing import placement, sweeper

logger = logging.getLogger(__name__)


@shared_task(
    name=task_queue.PLACE_DIAL,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def place_dial(dial_id: int) -> None:
    claim = placement.claim_dial(dial_id)
    if claim is None:
        # Someone else has it, it is not due yet, or it is done; or, handed back to be
        # checked, its callbacks moved it on meanwhile: then its placing is recorded now.
        placement.adopt_if_moved_on(dial_id)
        return
    placement.place_dial(claim)


@shared_task(name=task_queue.SWEEP_DIALS, acks_late=True, ignore_result=True)
def sweep_dials() -> None:
    sweeper.sweep_dials()
