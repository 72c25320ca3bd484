"""Placing a claimed dial exactly once.

Twilio's Create Participant is not idempotent, and a caller rung twice is the worst bug
this product can have. Every dial carries a unique Label and our callback URLs carry its
id. After any attempt whose outcome we cannot know (read timeout, reset, 5xx, a worker
that died while placing, an answer that is not about the call asked for) the next run
runs the exactly-once checks (`dialing.checks`) before creating again; only when they
found nothing after a grace period, and could have seen such a call, is the call created
again. When they cannot tell, the dial waits and checks again, and fails with the reason
at its deadline rather than risk a second call."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Literal

import redis
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from conferences.accounts import twilio_accounts
from conferences.core import crypto
from conferences.dialing import queueing
from conferences.dialing.checks import (
    ChecksInconclusive,
    ExistingCall,
    answer_mismatch,
    find_existing_call,
)
from conferences.dialing.claims import Claim, ClaimLost, claim_dial
from conferences.dialing.pacing import Pacer, Token
from conferences.dialing.slots import (
    _add_to_retry_lane,
    _pacer,
    _pop_due_retry,
    _Retry,
    _take_token,
)
from conferences.gateway import client as gateway
from conferences.gateway import errors
from conferences.gateway import types as gateway_types
from conferences.models import (
    WAITING_FOR_WORKER_STATUSES,
    Conference,
    DialAttempt,
    DialRequest,
    DialStatus,
    statuses_before,
)

logger = logging.getLogger(__name__)


def _release(dial: DialRequest, *, delay: float, verify: bool) -> bool:
    """Back to pending, due after `delay` seconds, and enqueued again. False when the dial
    is no longer ours to release: callbacks already moved it past placing."""
    due = timezone.now() + timedelta(seconds=delay)
    updated = DialRequest.objects.filter(
        pk=dial.pk, status=DialStatus.PLACING, claim_token=dial.claim_token
    ).update(
        status=DialStatus.PENDING,
        next_attempt_at=due,
        needs_verification=verify or F("needs_verification"),
        claim_token="",
        claim_expires_at=None,
    )
    if updated:
        transaction.on_commit(lambda: _add_to_retry_lane(dial.pk, due))
        transaction.on_commit(lambda: queueing.enqueue_place_dial(dial.pk, countdown=delay))
    return bool(updated)


def _fail(dial: DialRequest, reason: str, error: errors.GatewayError | None = None) -> None:
    fields: dict[str, object] = {
        "status": DialStatus.FAILED,
        "failure_reason": reason,
        "sip_auth_password_encrypted": "",
        "ended_at": timezone.now(),
    }
    if error is not None:
        fields.update(
            error_code=error.code,
            error_message=error.message,
            error_more_info=error.more_info,
            error_http_status=error.status,
        )
    DialRequest.objects.filter(
        pk=dial.pk, status__in=[DialStatus.PENDING, DialStatus.PLACING]
    ).update(**fields)
    logger.warning("dial %s failed: %s", dial.pk, reason)


def _backoff(attempt: int) -> float:
    """Exponential backoff with full jitter."""
    ceiling = min(settings.DIAL_RETRY_MAX_SECONDS, settings.DIAL_RETRY_BASE_SECONDS * 2**attempt)
    return random.uniform(0, ceiling)  # noqa: S311 -- jitter, not security


def _adopt(dial: DialRequest, found: ExistingCall, attempt: DialAttempt) -> None:
    now = timezone.now()
    updates: dict[str, object] = {
        "placed_at": now,
        "placed_by_check": found.check,
        "needs_verification": False,
        "sip_auth_password_encrypted": "",
    }
    with transaction.atomic():
        DialRequest.objects.filter(pk=dial.pk).update(**updates)
        if found.call_sid:
            DialRequest.objects.filter(pk=dial.pk, call_sid="").update(call_sid=found.call_sid)
        DialRequest.objects.filter(pk=dial.pk, status=DialStatus.PLACING).update(
            status=DialStatus.QUEUED
        )
        if found.conference_sid:
            Conference.objects.filter(pk=dial.conference_id, sid__isnull=True).update(
                sid=found.conference_sid
            )
        attempt.outcome = DialAttempt.Outcome.ADOPTED
        attempt.decided_by = found.check
        attempt.detail = f"call {found.call_sid or '(sid from callbacks)'} already exists"
        attempt.save()
    logger.info("dial %s: existing call adopted (%s)", dial.pk, found.check)


def _record_placed(
    dial: DialRequest,
    placed: gateway_types.PlacedParticipant,
    attempt: DialAttempt,
    *,
    conference_confirmed: bool,
) -> None:
    """The attempt and what the create's answer says, in one transaction and one update of
    the dial's row (a write at CPS 50 is a share of both cores)."""
    now = timezone.now()
    with transaction.atomic():
        attempt.save()
        DialRequest.objects.filter(pk=dial.pk).update(
            placed_at=now,
            placed_by_check="created",
            needs_verification=False,
            participant_status=placed.status,
            queue_time_ms=placed.queue_time_ms,
            response=placed.response,
            sip_auth_password_encrypted="",
            # Callbacks may already have set these; never move backwards or overwrite.
            call_sid=Case(When(call_sid="", then=Value(placed.call_sid)), default=F("call_sid")),
            status=Case(
                When(status__in=statuses_before(DialStatus.QUEUED), then=Value(DialStatus.QUEUED)),
                default=F("status"),
            ),
        )
        if placed.conference_sid and conference_confirmed:
            Conference.objects.filter(pk=dial.conference_id, sid__isnull=True).update(
                sid=placed.conference_sid
            )


def place_dial(claim: Claim) -> None:
    """Place a claimed dial, then any retries that are due (ahead of the broker's queue).

    Waits between attempts (a backoff, the grace before the checks) are never spent in a
    worker: the dial goes back to pending, and the retry lane or its broker task brings it
    back when due.
    """
    started = time.monotonic()
    _place_claimed(claim)
    while time.monotonic() - started < settings.CELERY_TASK_SOFT_TIME_LIMIT / 3:
        due_id = _pop_due_retry()
        if due_id is None:
            return
        due_claim = claim_dial(due_id)
        if due_claim is not None:
            _place_claimed(due_claim)
        else:
            adopt_if_moved_on(due_id)


def adopt_if_moved_on(dial_id: int) -> bool:
    """A dial handed back to be checked whose callbacks moved it on while it waited: its
    call exists (check 1 decides). Record the placing now rather than leave it for the
    sweeper. True when this run recorded it."""
    unchecked = DialRequest.objects.filter(
        pk=dial_id, placed_at__isnull=True, needs_verification=True
    ).exclude(status__in=WAITING_FOR_WORKER_STATUSES)
    # The conditional update is the claim: of two runs, one records the placing.
    if not unchecked.update(needs_verification=False):
        return False
    dial = DialRequest.objects.select_related("account", "conference").get(pk=dial_id)
    number = DialAttempt.objects.filter(dial=dial).count() + 1
    attempt = DialAttempt(dial=dial, number=number, started_at=timezone.now())
    try:
        found = find_existing_call(dial)
    except (ChecksInconclusive, errors.GatewayError):
        found = None  # callbacks moved it on: the call exists, its SID comes with them
    _adopt(dial, found or ExistingCall("callback", ""), attempt)
    return True


def _place_claimed(claim: Claim) -> None:
    """One attempt at a claimed dial: verify first when an earlier try may have placed it."""
    dial = DialRequest.objects.select_related("account", "conference").get(pk=claim.dial_id)
    if dial.status != DialStatus.PLACING or dial.claim_token != claim.token:
        return
    number = DialAttempt.objects.filter(dial=dial).count() + 1
    try:
        wait_limit = min(10.0, settings.CELERY_TASK_SOFT_TIME_LIMIT / 3)
        retry = _attempt(dial, claim, number, wait_limit=wait_limit)
        if retry is not None:
            _release_or_adopt(dial, retry, number)
    except ClaimLost:
        # Our lease lapsed and the sweeper handed the dial on: it is checked before any
        # create by whoever has it now. Touch nothing more.
        logger.warning("dial %s: this worker's claim lapsed and was taken over", dial.pk)
    except SoftTimeLimitExceeded:
        # Out of time, perhaps mid-request: hand the dial back at once, to be verified
        # before any create, rather than leave its lease to lapse.
        _release(dial, delay=settings.DIAL_VERIFY_GRACE_SECONDS, verify=True)
        raise


def _release_or_adopt(dial: DialRequest, retry: _Retry, number: int) -> None:
    if _release(dial, delay=retry.delay, verify=retry.verify):
        return
    status = DialRequest.objects.filter(pk=dial.pk).values_list("status", flat=True).first()
    if status in WAITING_FOR_WORKER_STATUSES:
        # Not moved on: our lease lapsed and the dial went to another run, which checks.
        return
    # Callbacks moved the dial on before we could hand it back: the create took effect.
    adoption = DialAttempt(dial=dial, number=number + 1, started_at=timezone.now())
    try:
        found = find_existing_call(dial)
    except ChecksInconclusive:
        found = None
    _adopt(dial, found or ExistingCall("callback", ""), adoption)


def _verify(dial: DialRequest, claim: Claim, attempt: DialAttempt) -> _Retry | Literal[True] | None:
    """The exactly-once checks before a create. True: nothing exists, create; None: settled
    (adopted, or failed at the deadline); a _Retry: check again later."""
    try:
        found = find_existing_call(dial, claim)
    except errors.GatewayError as error:
        attempt.outcome = DialAttempt.Outcome.RETRYABLE_ERROR
        attempt.decided_by = "check-failed"
        attempt.detail = f"could not check for an existing call: {error.message}"
        attempt.save()
        return _Retry(_backoff(attempt.number), verify=True)
    except ChecksInconclusive as unsure:
        attempt.outcome = DialAttempt.Outcome.RETRYABLE_ERROR
        attempt.decided_by = "checks-inconclusive"
        attempt.detail = f"cannot tell whether the call exists: {unsure}"
        attempt.save()
        if timezone.now() > dial.created_at + timedelta(seconds=settings.DIAL_DEADLINE_SECONDS):
            _fail(
                dial,
                f"not placed: Twilio may have created the call but the checks could not "
                f"tell ({unsure}); not dialed again, so the caller is never called twice",
            )
            return None
        return _Retry(max(settings.DIAL_VERIFY_GRACE_SECONDS, _backoff(attempt.number)), True)
    if found is not None:
        _adopt(dial, found, attempt)
        return None
    attempt.decided_by = "checks-found-nothing"
    return True


def _attempt(dial: DialRequest, claim: Claim, number: int, *, wait_limit: float) -> _Retry | None:
    """The checks when needed, a slot, the create. None when the dial is settled (placed,
    adopted, failed, or handed back until its next slot)."""
    deadline = dial.created_at + timedelta(seconds=settings.DIAL_DEADLINE_SECONDS)
    attempt = DialAttempt(dial=dial, number=number, started_at=timezone.now())

    if dial.needs_verification:
        verified = _verify(dial, claim, attempt)
        if verified is not True:
            return verified

    if timezone.now() > deadline:
        _fail(dial, f"not placed within {settings.DIAL_DEADLINE_SECONDS} s")
        return None
    # Everything the request needs is ready before the slot: it leaves the moment it opens.
    params = dict(dial.params)
    password = crypto.decrypt(dial.sip_auth_password_encrypted)
    if password:
        params["SipAuthPassword"] = password
    creds = twilio_accounts.credentials(dial.account)
    # Renewed now, the lease outlives the slot wait (renewed each second of a longer one)
    # and the create: the sweeper never hands the dial on while this request may be out.
    if not claim.renew_before_create():
        raise ClaimLost(dial.pk)
    try:
        token = _take_token(dial, claim, wait_limit=wait_limit)
    except redis.RedisError as error:
        # No pacing without Redis: hand the dial back rather than hold it until the lease
        # lapses. No create was sent, so nothing needs checking for it.
        logger.warning("dial %s: no call slot (Redis: %s); handed back", dial.pk, error)
        return _Retry(_backoff(number), verify=False)
    if token is None:
        # The next slot is far off: wait in the broker, not in a worker.
        return _Retry(2.0, verify=False)
    started = time.monotonic()
    try:
        placed = gateway.create_participant(
            creds,
            # By friendly name, as the operator chose it: should that conference have ended,
            # Twilio starts a new one instead of refusing the SID of the old (16022).
            dial.conference.friendly_name,
            params,
            timeout=settings.TWILIO_HTTP_TIMEOUT_SECONDS,
        )
    except errors.GatewayError as error:
        attempt.latency_ms = int((time.monotonic() - started) * 1000)
        return _handle_create_error(dial, attempt, error, token)
    attempt.latency_ms = int((time.monotonic() - started) * 1000)
    _tell_pacer(dial, lambda pacer: pacer.record_create(throttled=False))
    attempt.http_status = 201
    mismatch, conference_confirmed = answer_mismatch(dial, placed, creds)
    if mismatch:
        # Twilio's answer is not about the call we asked for: a call was made, but which one
        # is not known. Never store what the answer says; the checks find the real call.
        attempt.outcome = DialAttempt.Outcome.MISMATCH
        attempt.decided_by = "answer-checked"
        attempt.detail = mismatch
        attempt.save()
        logger.error(
            "dial %s: Twilio's answer to the create does not match the request: %s; "
            "not stored, the exactly-once checks look for the call",
            dial.pk,
            mismatch,
        )
        return _Retry(settings.DIAL_VERIFY_GRACE_SECONDS, verify=True)
    attempt.outcome = DialAttempt.Outcome.PLACED
    attempt.detail = f"call {placed.call_sid}, participant {placed.status}"
    _record_placed(dial, placed, attempt, conference_confirmed=conference_confirmed)
    logger.info("dial %s placed: %s", dial.pk, placed.call_sid)
    return None


def _tell_pacer(dial: DialRequest, news: Callable[[Pacer], object]) -> None:
    """Tell the pacer what a create did. Redis gone at that moment must not lose what the
    create did: the dial's record comes first, the pacing only adjusts the rate."""
    try:
        news(_pacer(dial))
    except redis.RedisError as error:
        logger.warning("dial %s: pacing not told about its create (Redis: %s)", dial.pk, error)


LABEL_IN_USE = 16026


def _handle_create_error(
    dial: DialRequest, attempt: DialAttempt, error: errors.GatewayError, token: Token
) -> _Retry | None:
    attempt.http_status = error.status
    attempt.error_code = error.code
    attempt.detail = error.message
    if error.code == LABEL_IN_USE:
        # Our label is unique to this dial: Twilio already has this participant.
        attempt.save()
        try:
            found = find_existing_call(dial)
        except (ChecksInconclusive, errors.GatewayError):
            found = None  # the SID comes with the participant's callbacks
        _adopt(dial, found or ExistingCall("participant-label", ""), attempt)
        return None
    if not error.outcome_unknown:
        # Twilio refused before acting (4xx, 429), or the request never reached it (refused
        # connection): no call was created, so the slot goes back.
        _tell_pacer(dial, lambda pacer: pacer.give_back(token))
    if not error.retryable:
        attempt.outcome = DialAttempt.Outcome.PERMANENT_ERROR
        attempt.save()
        _fail(dial, f"Twilio refused the call ({error.code or error.status})", error)
        return None
    _tell_pacer(dial, lambda pacer: pacer.record_create(throttled=error.status == 429))
    attempt.outcome = (
        DialAttempt.Outcome.UNKNOWN
        if error.outcome_unknown
        else DialAttempt.Outcome.RETRYABLE_ERROR
    )
    attempt.save()
    gave_up = attempt.number >= settings.DIAL_MAX_ATTEMPTS and not error.outcome_unknown
    if gave_up:
        _fail(dial, f"gave up after {attempt.number} attempts: {error.message}", error)
        return None
    # Never give up on a call that may exist: after an unknown outcome, verification decides.
    delay = _backoff(attempt.number)
    if error.outcome_unknown:
        return _Retry(max(settings.DIAL_VERIFY_GRACE_SECONDS, delay), verify=True)
    return _Retry(delay, verify=False)
