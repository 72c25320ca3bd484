"""The sweeper: dials whose task was lost (a worker died, the broker forgot) are sent again,
and claims whose lease lapsed go through the exactly-once checks, whoever held them."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from conferences.dialing import claims, queueing
from conferences.dialing.placement import _fail
from conferences.dialing.slots import _add_to_retry_lane
from conferences.models import (
    CallbackEvent,
    DialRequest,
    DialStatus,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepReport:
    requeued: int
    stale_claims: int
    failed: int
    adopted: int = 0


def sweep_dials() -> SweepReport:
    """Find dials whose task was lost (broker down at commit, worker killed) and resume them."""
    now = timezone.now()
    lost_after = timedelta(seconds=settings.DIAL_LOST_AFTER_SECONDS)
    give_up_before = now - timedelta(seconds=settings.DIAL_DEADLINE_SECONDS * 2)

    # A claim whose lease lapsed: its worker died, hangs, or lost its task with the broker.
    # Its create may have reached Twilio, so the checks run before any re-create, once the
    # grace has passed (the call's traces need it to show). The lapsed holder finds out at
    # its next renewal, and stops.
    grace = timedelta(seconds=settings.DIAL_VERIFY_GRACE_SECONDS)
    lapsed_ids = list(
        DialRequest.objects.filter(status=DialStatus.PLACING)
        .filter(claims.unheld())
        .values_list("pk", flat=True)[:500]
    )
    stale_ids = []
    for dial_id in lapsed_ids:
        handed_back = (
            DialRequest.objects.filter(pk=dial_id, status=DialStatus.PLACING)
            .filter(claims.unheld())
            .update(
                status=DialStatus.PENDING,
                needs_verification=True,
                next_attempt_at=now + grace,
                claim_token="",
                claim_expires_at=None,
            )
        )
        if handed_back:
            stale_ids.append(dial_id)
            _add_to_retry_lane(dial_id, now + grace)
            queueing.enqueue_place_dial(dial_id, countdown=grace.total_seconds())
    stale = len(stale_ids)

    # A worker died after Twilio took the call: its callbacks moved the dial on, but nobody
    # recorded the placing. Record it now, as decided by check 1 (a callback arrived).
    has_callbacks = Exists(CallbackEvent.objects.filter(dial_id=OuterRef("pk")))
    adopted = (
        DialRequest.objects.filter(placed_at__isnull=True)
        # Handed back to be checked (nobody holds it), or its holder's lease lapsed.
        .filter(claims.lapsed() | Q(claim_expires_at__isnull=True, needs_verification=True))
        .exclude(status__in=[DialStatus.PENDING, DialStatus.PLACING])
        .filter(has_callbacks)
        .update(
            placed_at=now,
            placed_by_check="callback",
            needs_verification=False,
            sip_auth_password_encrypted="",
        )
    )

    # Pending long past its due time: the task never ran (or was lost with the broker).
    overdue = DialRequest.objects.filter(status=DialStatus.PENDING).filter(
        Q(next_attempt_at__lt=now - lost_after)
        | Q(next_attempt_at__isnull=True, created_at__lt=now - lost_after)
    )
    expired = overdue.filter(created_at__lt=give_up_before, needs_verification=False)
    failed = 0
    for dial in expired[:500]:
        _fail(dial, "no worker placed this dial in time")
        failed += 1
    ids = list(overdue.values_list("pk", flat=True)[:500])
    requeued = 0
    for dial_id in dict.fromkeys(ids):
        # Push the due time forward first, so the next sweep does not enqueue it again.
        moved = DialRequest.objects.filter(pk=dial_id, status=DialStatus.PENDING).update(
            next_attempt_at=now
        )
        if moved:
            queueing.enqueue_place_dial(dial_id)
            requeued += 1
    if requeued or stale or failed or adopted:
        logger.info(
            "sweep: %s re-enqueued, %s stale claims, %s failed, %s adopted from callbacks",
            requeued,
            stale,
            failed,
            adopted,
        )
    return SweepReport(requeued=requeued, stale_claims=stale, failed=failed, adopted=adopted)
