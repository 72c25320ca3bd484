"""Placing a claimed dial exactly once.

Twilio's Create Participant is not idempotent, and a caller rung twice is the worst bug
this product can have. Every dial carries a unique Label and our callback URLs carry its
id. After any attempt whose outcome we cannot know (read timeout, reset, 5xx, a worker
that died while placing) the next run checks, in this order, before creating again:
  1. a callback already arrived for this dial id;
  2. the conference (by SID or friendly name) has a participant with this Label;
  3. the Calls list has a call to this number created since the first attempt.
Only when all three find nothing after a grace period is the call created again."""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from conferences.accounts import twilio_accounts
from conferences.core import crypto
from conferences.dialing import queueing
from conferences.dialing.pacing import Token
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
    CallbackEvent,
    CallbackKind,
    Conference,
    DialAttempt,
    DialRequest,
    DialStatus,
    statuses_before,
)

logger = logging.getLogger(__name__)


def _stale_before() -> datetime:
    return timezone.now() - timedelta(seconds=settings.DIAL_STALE_CLAIM_SECONDS)


def claim_dial(dial_id: int) -> bool:
    """Take a dial for this worker (-> placing). False when another live worker has it, it is
    not due yet, or it is done. A claim left by a dead worker is taken over, and the call it
    may have placed is looked for before any new create."""
    now = timezone.now()
    claimed = (
        DialRequest.objects.filter(pk=dial_id, status=DialStatus.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(
            status=DialStatus.PLACING,
            heartbeat_at=now,
            first_attempt_at=Coalesce(F("first_attempt_at"), now),
        )
    )
    if claimed:
        return True
    taken_over = DialRequest.objects.filter(
        pk=dial_id, status=DialStatus.PLACING, heartbeat_at__lt=_stale_before()
    ).update(heartbeat_at=now, needs_verification=True)
    return taken_over == 1


def _release(dial: DialRequest, *, delay: float, verify: bool) -> bool:
    """Back to pending, due after `delay` seconds, and enqueued again. False when the dial
    is no longer ours to release: callbacks already moved it past placing."""
    due = timezone.now() + timedelta(seconds=delay)
    updated = DialRequest.objects.filter(pk=dial.pk, status=DialStatus.PLACING).update(
        status=DialStatus.PENDING,
        next_attempt_at=due,
        needs_verification=verify or F("needs_verification"),
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


@dataclass(frozen=True)
class ExistingCall:
    check: str
    call_sid: str
    conference_sid: str = ""


def find_existing_call(dial: DialRequest) -> ExistingCall | None:
    """The three checks, in order; the first that finds the call decides."""
    # A stored callback counts before a worker has applied it (and linked it to the dial):
    # the dial's id in our callback URL names it (the unapplied ones are few and indexed).
    # Not conference events: Twilio sends those about every participant to the URL of the
    # conference's first one, so the id in their URL may name another dial.
    ours = CallbackEvent.objects.filter(
        Q(dial=dial)
        | Q(
            applied_at__isnull=True,
            dial_id_in_url=dial.pk,
            kind__in=[CallbackKind.CALL_STATUS, CallbackKind.AMD, CallbackKind.RECORDING],
        )
    )
    event = ours.exclude(call_sid="").order_by("received_at").first()
    if event is not None or ours.exists():
        return ExistingCall(
            "callback",
            event.call_sid if event else "",
            event.conference_sid if event else "",
        )
    creds = twilio_accounts.credentials(dial.account)
    timeout = settings.TWILIO_HTTP_TIMEOUT_SECONDS
    conference_sids = (
        [dial.conference.sid]
        if dial.conference.sid
        else [
            found.sid
            for found in gateway.find_conferences(
                creds, friendly_name=dial.conference.friendly_name, timeout=timeout
            )
            if found.status != "completed"
        ]
    )
    for conference_sid in conference_sids:
        participant = gateway.fetch_participant(creds, conference_sid, dial.label, timeout=timeout)
        if participant is not None:
            return ExistingCall("participant-label", participant.call_sid, conference_sid)
    since = (dial.first_attempt_at or dial.created_at) - timedelta(seconds=5)
    for call in gateway.find_calls(
        creds, to=dial.to_number, started_on_or_after=since, timeout=timeout
    ):
        # Two dials to the same number may be in flight; never adopt another dial's call.
        if not DialRequest.objects.filter(call_sid=call.sid).exclude(pk=dial.pk).exists():
            return ExistingCall("calls-list", call.sid)
    return None


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


def _record_placed(dial: DialRequest, placed: gateway_types.PlacedParticipant) -> None:
    now = timezone.now()
    with transaction.atomic():
        DialRequest.objects.filter(pk=dial.pk).update(
            placed_at=now,
            placed_by_check="created",
            needs_verification=False,
            participant_status=placed.status,
            queue_time_ms=placed.queue_time_ms,
            response=placed.response,
            sip_auth_password_encrypted="",
        )
        # Callbacks may already have set these; never move backwards or overwrite.
        DialRequest.objects.filter(pk=dial.pk, call_sid="").update(call_sid=placed.call_sid)
        DialRequest.objects.filter(
            pk=dial.pk, status__in=statuses_before(DialStatus.QUEUED)
        ).update(status=DialStatus.QUEUED)
        if placed.conference_sid:
            Conference.objects.filter(pk=dial.conference_id, sid__isnull=True).update(
                sid=placed.conference_sid
            )


def place_dial(dial_id: int) -> None:
    """Place a claimed dial, then any retries that are due (ahead of the broker's queue).

    Waits between attempts (a backoff, the grace before the checks) are never spent in a
    worker: the dial goes back to pending, and the retry lane or its broker task brings it
    back when due.
    """
    started = time.monotonic()
    _place_claimed(dial_id)
    while time.monotonic() - started < settings.CELERY_TASK_SOFT_TIME_LIMIT / 3:
        due_id = _pop_due_retry()
        if due_id is None:
            return
        if claim_dial(due_id):
            _place_claimed(due_id)


def _place_claimed(dial_id: int) -> None:
    """One attempt at a claimed dial: verify first when an earlier try may have placed it."""
    dial = DialRequest.objects.select_related("account", "conference").get(pk=dial_id)
    if dial.status != DialStatus.PLACING:
        return
    number = DialAttempt.objects.filter(dial=dial).count() + 1
    try:
        wait_limit = min(10.0, settings.CELERY_TASK_SOFT_TIME_LIMIT / 3)
        retry = _attempt(dial, number, wait_limit=wait_limit)
        if retry is not None:
            _release_or_adopt(dial, retry, number)
    except SoftTimeLimitExceeded:
        # Out of time, perhaps mid-request: hand the dial back at once, to be verified
        # before any create, rather than leave its claim to go stale.
        _release(dial, delay=settings.DIAL_VERIFY_GRACE_SECONDS, verify=True)
        raise


def _release_or_adopt(dial: DialRequest, retry: _Retry, number: int) -> None:
    if not _release(dial, delay=retry.delay, verify=retry.verify):
        # Callbacks moved the dial on before we could hand it back: the create took effect.
        adoption = DialAttempt(dial=dial, number=number + 1, started_at=timezone.now())
        _adopt(dial, find_existing_call(dial) or ExistingCall("callback", ""), adoption)


def _attempt(dial: DialRequest, number: int, *, wait_limit: float) -> _Retry | None:
    """The checks when needed, a slot, the create. None when the dial is settled (placed,
    adopted, failed, or handed back until its next slot)."""
    deadline = dial.created_at + timedelta(seconds=settings.DIAL_DEADLINE_SECONDS)
    attempt = DialAttempt(dial=dial, number=number, started_at=timezone.now())

    if dial.needs_verification:
        try:
            found = find_existing_call(dial)
        except errors.GatewayError as error:
            attempt.outcome = DialAttempt.Outcome.RETRYABLE_ERROR
            attempt.decided_by = "check-failed"
            attempt.detail = f"could not check for an existing call: {error.message}"
            attempt.save()
            return _Retry(_backoff(number), verify=True)
        if found is not None:
            _adopt(dial, found, attempt)
            return None
        attempt.decided_by = "checks-found-nothing"

    if timezone.now() > deadline:
        _fail(dial, f"not placed within {settings.DIAL_DEADLINE_SECONDS} s")
        return None
    # Everything the request needs is ready before the slot: it leaves the moment it opens.
    params = dict(dial.params)
    password = crypto.decrypt(dial.sip_auth_password_encrypted)
    if password:
        params["SipAuthPassword"] = password
    creds = twilio_accounts.credentials(dial.account)
    token = _take_token(dial, wait_limit=wait_limit)
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
    _pacer(dial).record_create(throttled=False)
    attempt.outcome = DialAttempt.Outcome.PLACED
    attempt.http_status = 201
    attempt.detail = f"call {placed.call_sid}, participant {placed.status}"
    attempt.save()
    _record_placed(dial, placed)
    logger.info("dial %s placed: %s", dial.pk, placed.call_sid)
    return None


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
        found = find_existing_call(dial) or ExistingCall("participant-label", "")
        _adopt(dial, found, attempt)
        return None
    pacer = _pacer(dial)
    if not error.outcome_unknown:
        # Twilio refused before acting (4xx, 429), or the request never reached it (refused
        # connection): no call was created, so the slot goes back.
        pacer.give_back(token)
    if not error.retryable:
        attempt.outcome = DialAttempt.Outcome.PERMANENT_ERROR
        attempt.save()
        _fail(dial, f"Twilio refused the call ({error.code or error.status})", error)
        return None
    pacer.record_create(throttled=error.status == 429)
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
