"""A dial's claim is a lease (issue 19): renewed by the task holding it, handed on by the
sweeper once it lapses, whoever held it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from conferences.dialing import claims, placement, sweeper
from conferences.models import DialRequest, DialStatus
from tests.pipeline.helpers import stored_dial

pytestmark = pytest.mark.django_db


def _pending(operator) -> DialRequest:
    return stored_dial(operator, "leased", status=DialStatus.PENDING)


def _expire(claim: claims.Claim) -> None:
    DialRequest.objects.filter(pk=claim.dial_id).update(
        claim_expires_at=timezone.now() - timedelta(seconds=1)
    )


def test_a_claim_is_a_lease_that_its_holder_renews(operator):
    dial = _pending(operator)
    claim = placement.claim_dial(dial.pk)
    assert claim is not None
    dial.refresh_from_db()
    assert dial.status == DialStatus.PLACING and dial.claim_token == claim.token
    first_expiry = dial.claim_expires_at
    assert first_expiry is not None and first_expiry > timezone.now()
    assert placement.claim_dial(dial.pk) is None  # held: nobody else takes it
    _expire(claim)
    assert claim.renew()  # lapsed but not yet taken over: the live holder keeps it
    dial.refresh_from_db()
    assert dial.claim_expires_at is not None and dial.claim_expires_at > timezone.now()


def test_a_live_lease_is_left_alone_however_old_its_heartbeat(operator, settings, redis_db):
    settings.DIAL_STALE_CLAIM_SECONDS = 1
    dial = _pending(operator)
    claim = placement.claim_dial(dial.pk)
    assert claim is not None
    DialRequest.objects.filter(pk=dial.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=600)
    )
    assert sweeper.sweep_dials().stale_claims == 0
    assert DialRequest.objects.get(pk=dial.pk).status == DialStatus.PLACING


def test_a_lapsed_lease_goes_through_the_checks_whoever_held_it(operator, redis_db):
    dial = _pending(operator)
    holder = placement.claim_dial(dial.pk)
    assert holder is not None
    _expire(holder)
    assert sweeper.sweep_dials().stale_claims == 1
    dial.refresh_from_db()
    assert dial.status == DialStatus.PENDING
    assert dial.needs_verification is True
    assert dial.claim_token == "" and dial.claim_expires_at is None
    # The grace before the checks: the call a lapsed create may have made needs it to show.
    assert dial.next_attempt_at is not None and dial.next_attempt_at > timezone.now()
    # The old holder wakes up: its renewal fails, so it stops before any create.
    assert not holder.renew()
    DialRequest.objects.filter(pk=dial.pk).update(next_attempt_at=timezone.now())
    taker = placement.claim_dial(dial.pk)
    assert taker is not None and taker.token != holder.token
    assert not holder.renew()
    assert taker.renew()


def test_a_holder_whose_lease_was_taken_over_cannot_hand_the_dial_back(operator, redis_db):
    dial = _pending(operator)
    holder = placement.claim_dial(dial.pk)
    assert holder is not None
    held = DialRequest.objects.get(pk=dial.pk)
    _expire(holder)
    sweeper.sweep_dials()
    DialRequest.objects.filter(pk=dial.pk).update(next_attempt_at=timezone.now())
    assert placement.claim_dial(dial.pk) is not None
    # The old holder's release names its own token: the new holder's claim stays.
    assert not placement._release(held, delay=0.0, verify=False)
    assert DialRequest.objects.get(pk=dial.pk).status == DialStatus.PLACING
