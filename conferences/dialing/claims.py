"""A worker's claim on a dial is a lease: it holds until `claim_expires_at`, and the task
holding it renews it while it works (while it waits for a slot, before each create, before
each exactly-once check).

A worker that stops renewing (killed, stuck, or its task lost with a broker that came
back empty) lets the lease lapse; the sweeper then sends the dial through the exactly-once
checks, whoever held it. Each claim carries a token, so a holder whose lease lapsed and was
taken over finds out at its next renewal and stops before it could create a second call.

Expiry is set and compared with the database's clock (`Now()`), so workers on machines
whose clocks disagree never take a live lease for a lapsed one.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import DateTimeField, ExpressionWrapper, F, Q
from django.db.models.functions import Coalesce, Now
from django.utils import timezone

from conferences.models import DialRequest, DialStatus

# What a lease covers beyond the longest single request to Twilio made under it: the
# database work between two renewals, and a slot wait of up to a second (renewed each
# second while waiting longer).
LEASE_MARGIN_SECONDS = 10.0
# A lease taken this recently still has all but this much of its life: renewing it again
# before the create would cost a write and change nothing the margin does not cover.
FRESH_LEASE_SECONDS = 1.0


def lease_seconds() -> float:
    """How long a claim lives unrenewed: one request to Twilio at its timeout, plus a margin.
    A lease renewed just before a create therefore outlives the create."""
    return float(settings.TWILIO_HTTP_TIMEOUT_SECONDS) + LEASE_MARGIN_SECONDS


def _lease_end() -> ExpressionWrapper:
    return ExpressionWrapper(
        Now() + timedelta(seconds=lease_seconds()), output_field=DateTimeField()
    )


def _stale_before() -> datetime:
    return timezone.now() - timedelta(seconds=settings.DIAL_STALE_CLAIM_SECONDS)


def lapsed() -> Q:
    """Claims nobody holds any more: the lease ran out, or (a claim taken before leases
    existed) its heartbeat is older than DIAL_STALE_CLAIM_SECONDS."""
    return Q(claim_expires_at__lt=Now()) | Q(
        claim_expires_at__isnull=True, heartbeat_at__lt=_stale_before()
    )


def unheld() -> Q:
    """A placing dial no worker holds: its lease lapsed, or it never had one."""
    return lapsed() | Q(claim_expires_at__isnull=True, heartbeat_at__isnull=True)


@dataclass(frozen=True)
class Claim:
    """This worker's lease on one placing dial."""

    dial_id: int
    token: str
    taken_at: float = field(default_factory=time.monotonic, compare=False)

    def renew_before_create(self) -> bool:
        """Make sure the lease outlives a create sent now: renewed, unless it was taken
        under FRESH_LEASE_SECONDS ago (a worker's own claim is not taken over in that time,
        nor moved past placing before its first create)."""
        if time.monotonic() - self.taken_at < FRESH_LEASE_SECONDS:
            return True
        return self.renew()

    def renew(self) -> bool:
        """Extend the lease by `lease_seconds()` from now. False when the dial is no longer
        ours: the lease lapsed and the sweeper took it, or callbacks moved it past placing."""
        return bool(
            DialRequest.objects.filter(
                pk=self.dial_id, status=DialStatus.PLACING, claim_token=self.token
            ).update(claim_expires_at=_lease_end(), heartbeat_at=timezone.now())
        )


def claim_dial(dial_id: int) -> Claim | None:
    """Take a pending dial that is due (-> placing) under a fresh lease. None when it is
    not pending, not due yet, or someone else took it first. A placing dial whose lease
    lapsed is not taken here: the sweeper hands it back, to be checked before any create."""
    now = timezone.now()
    token = uuid.uuid4().hex
    claimed = (
        DialRequest.objects.filter(pk=dial_id, status=DialStatus.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(
            status=DialStatus.PLACING,
            heartbeat_at=now,
            claim_token=token,
            claim_expires_at=_lease_end(),
            first_attempt_at=Coalesce(F("first_attempt_at"), now),
        )
    )
    return Claim(dial_id, token) if claimed else None


class ClaimLost(Exception):
    """The dial is no longer this worker's: stop before doing anything more to it."""
