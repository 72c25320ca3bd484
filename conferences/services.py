"""Services that change state for dialing: submit a dial, claim it, place it exactly once,
and sweep up dials whose task was lost.

Exactly once: Twilio's Create Participant is not idempotent, and a caller rung twice is the
worst bug this product can have. Every dial carries a unique Label and our callback URLs
carry its id. After any attempt whose outcome we cannot know (read timeout, reset, 5xx, a
worker that died while placing) the next run checks, in this order, before creating again:
  1. a callback already arrived for this dial id;
  2. the conference (by SID or friendly name) has a participant with this Label;
  3. the Calls list has a call to this number created since the first attempt.
Only when all three find nothing after a grace period is the call created again.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import redis
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from conferences import accounts, crypto, twilio_gateway
from conferences.callback_urls import CALLBACK_PARAMETERS, callback_url
from conferences.heartbeat import redis_client
from conferences.models import (
    CallbackEvent,
    CallbackKind,
    Conference,
    ConferenceStatus,
    DialAttempt,
    DialRequest,
    DialStatus,
    TwilioAccount,
    User,
    statuses_before,
)
from conferences.pacing import Pacer, Token

logger = logging.getLogger(__name__)

CONFERENCE_SID_PREFIX = "CF"

# Events the app always asks Twilio for, so it sees every step of every call.
APP_EVENTS: dict[str, list[str]] = {
    "StatusCallbackEvent": ["initiated", "ringing", "answered", "completed"],
    "ConferenceStatusCallbackEvent": [
        "start",
        "end",
        "join",
        "leave",
        "mute",
        "hold",
        "modify",
        "announcement",
    ],
    "RecordingStatusCallbackEvent": ["in-progress", "completed", "absent"],
    "ConferenceRecordingStatusCallbackEvent": ["in-progress", "completed", "failed", "absent"],
}
# Twilio's defaults for the operator's own callbacks, when they named a URL but no events.
TWILIO_DEFAULT_EVENTS: dict[str, list[str]] = {
    "StatusCallbackEvent": ["completed"],
    "ConferenceStatusCallbackEvent": ["start", "end"],
    "RecordingStatusCallbackEvent": ["completed"],
    "ConferenceRecordingStatusCallbackEvent": ["completed"],
}
RECORDING_ON_VALUES = {"true", "record-from-start"}


class LabelInUse(Exception):
    """The operator's label is already used by another dial in this conference."""


@dataclass(frozen=True)
class DialSubmission:
    """What an operator asked for: the conference and the Create Participant body."""

    conference: str
    params: Mapping[str, str | Sequence[str]]
    sip_auth_password: str = field(default="", repr=False)


def _is_conference_sid(value: str) -> bool:
    return value.startswith(CONFERENCE_SID_PREFIX) and len(value) == 34


def _conference_for(account: TwilioAccount, name_or_sid: str, operator: User) -> Conference:
    """The open conference with this SID or friendly name, or a new one."""
    open_conferences = Conference.objects.filter(account=account).exclude(
        status=ConferenceStatus.COMPLETED
    )
    if _is_conference_sid(name_or_sid):
        found = Conference.objects.filter(account=account, sid=name_or_sid).first()
        if found:
            return found
        return Conference.objects.create(
            account=account, sid=name_or_sid, friendly_name=name_or_sid, created_by=operator
        )
    found = open_conferences.filter(friendly_name=name_or_sid).order_by("-created_at").first()
    return found or Conference.objects.create(
        account=account, friendly_name=name_or_sid, created_by=operator
    )


def _as_list(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return value.split()
    return [item for entry in value for item in str(entry).split()]


def wire_params(
    dial_id: int, operator_params: Mapping[str, str | Sequence[str]]
) -> tuple[dict[str, str | list[str]], dict[str, dict[str, object]]]:
    """The body we send: the operator's parameters with our own callback URLs in place.

    Where the operator named their own callback URL, it becomes a relay target that
    receives exactly the events they asked for, with their method.
    """
    params: dict[str, str | list[str]] = {
        name: (list(value) if not isinstance(value, str) else value)
        for name, value in operator_params.items()
    }
    relay_targets: dict[str, dict[str, object]] = {}
    recording_on = params.get("Record") == "true"
    conference_recording_on = params.get("ConferenceRecord") in RECORDING_ON_VALUES
    wanted = {
        "StatusCallback": True,
        "ConferenceStatusCallback": True,
        "RecordingStatusCallback": recording_on,
        "ConferenceRecordingStatusCallback": conference_recording_on,
        "AmdStatusCallback": bool(params.get("MachineDetection")),
    }
    for url_param, kind in CALLBACK_PARAMETERS.items():
        method_param, event_param = f"{url_param}Method", f"{url_param}Event"
        operator_url = params.pop(url_param, None)
        operator_method = params.pop(method_param, None)
        operator_events = _as_list(params.pop(event_param, None))
        if operator_url:
            relay_targets[kind] = {
                "url": operator_url,
                "method": str(operator_method or "POST").upper(),
                "events": operator_events or TWILIO_DEFAULT_EVENTS.get(event_param, []),
            }
        if not wanted[url_param]:
            continue
        params[url_param] = callback_url(kind, dial_id)
        params[method_param] = "POST"
        if event_param in APP_EVENTS:
            events = list(APP_EVENTS[event_param])
            # `speaker` fires on every burst of speech: only when the operator asked for it.
            if event_param == "ConferenceStatusCallbackEvent" and "speaker" in operator_events:
                events.append("speaker")
            params[event_param] = events
    return params, relay_targets


def submit_dial(
    *, operator: User, submission: DialSubmission, account: TwilioAccount | None = None
) -> DialRequest:
    """Store a dial request and hand it to a worker once the transaction commits."""
    from conferences import tasks

    account = account or accounts.default_account()
    operator_params = dict(submission.params)
    label = str(operator_params.get("Label") or f"dial-{uuid.uuid4().hex[:12]}")
    operator_params["Label"] = label
    try:
        with transaction.atomic():
            conference = _conference_for(account, submission.conference.strip(), operator)
            dial = DialRequest.objects.create(
                account=account,
                conference=conference,
                operator=operator,
                to_number=str(operator_params.get("To", "")),
                from_number=str(operator_params.get("From", "")),
                label=label,
                sip_auth_password_encrypted=crypto.encrypt(submission.sip_auth_password),
            )
            dial.params, dial.relay_targets = wire_params(dial.pk, operator_params)
            dial.save(update_fields=["params", "relay_targets"])
            transaction.on_commit(lambda: tasks.enqueue_place_dial(dial.pk))
    except IntegrityError as error:
        if "unique_label_per_conference" in str(error):
            raise LabelInUse(label) from error
        raise
    logger.info("dial %s stored for %s in %s", dial.pk, operator, conference)
    return dial


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
    from conferences import tasks

    due = timezone.now() + timedelta(seconds=delay)
    updated = DialRequest.objects.filter(pk=dial.pk, status=DialStatus.PLACING).update(
        status=DialStatus.PENDING,
        next_attempt_at=due,
        needs_verification=verify or F("needs_verification"),
    )
    if updated:
        transaction.on_commit(lambda: _add_to_retry_lane(dial.pk, due))
        transaction.on_commit(lambda: tasks.enqueue_place_dial(dial.pk, countdown=delay))
    return bool(updated)


def _fail(dial: DialRequest, reason: str, error: twilio_gateway.GatewayError | None = None) -> None:
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
    creds = accounts.credentials(dial.account)
    timeout = settings.TWILIO_HTTP_TIMEOUT_SECONDS
    conference_sids = (
        [dial.conference.sid]
        if dial.conference.sid
        else [
            found.sid
            for found in twilio_gateway.find_conferences(
                creds, friendly_name=dial.conference.friendly_name, timeout=timeout
            )
            if found.status != "completed"
        ]
    )
    for conference_sid in conference_sids:
        participant = twilio_gateway.fetch_participant(
            creds, conference_sid, dial.label, timeout=timeout
        )
        if participant is not None:
            return ExistingCall("participant-label", participant.call_sid, conference_sid)
    since = (dial.first_attempt_at or dial.created_at) - timedelta(seconds=5)
    for call in twilio_gateway.find_calls(
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


def _record_placed(dial: DialRequest, placed: twilio_gateway.PlacedParticipant) -> None:
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


# A slot is reserved at most this far ahead: far enough that a waiting worker holds the
# next slot before it opens (and sends on time, not a poll later); near enough that a slot
# given back (a 429 answers within a few hundred ms) still shares a window with the slots
# reserved after it, so the schedule can move up into its place.
SLOT_RESERVE_AHEAD_SECONDS = 0.1


def _pacer(dial: DialRequest) -> Pacer:
    return Pacer(dial.account.account_sid, dial.account.calls_per_second)


def _late_tolerance() -> float:
    """How late after its slot a request may still leave. The log's window is widened by
    DIAL_PACING_MARGIN to absorb the jitter between a slot and its request reaching Twilio;
    a worker that wakes later than a quarter of it (the rest is for the way there, which
    is the larger share on a busy machine) sends on another slot instead."""
    return max(0.005, float(settings.DIAL_PACING_MARGIN) / 4)


def _hold(dial_id: int, until: float) -> bool:
    """Sleep until `until` (monotonic), beating the claim each second of a longer wait so the
    sweeper never takes this live worker for dead. False as soon as the dial is no longer
    ours (callbacks moved it past placing)."""
    while True:
        left = until - time.monotonic()
        if left <= 0:
            return True
        time.sleep(min(left, 1.0))
        if until > time.monotonic() and not DialRequest.objects.filter(
            pk=dial_id, status=DialStatus.PLACING
        ).update(heartbeat_at=timezone.now()):
            return False


def _take_token(dial: DialRequest, *, wait_limit: float) -> Token | None:
    """Reserve this account's next call slot and sleep until it opens; None if it is further
    off than `wait_limit` seconds, or the dial moved on while we waited. The caller sends at
    once: nothing but the request itself may lie between the slot and Twilio."""
    pacer = _pacer(dial)
    deadline = time.monotonic() + max(0.0, wait_limit)
    while True:
        token = pacer.reserve(SLOT_RESERVE_AHEAD_SECONDS)
        reserved_at = time.monotonic()
        if reserved_at + token.wait > deadline:
            pacer.give_back(token)
            return None
        if not token.taken:
            # Come back when the slot is within reach; whoever reserves it first takes it.
            if not _hold(dial.pk, reserved_at + token.wait - SLOT_RESERVE_AHEAD_SECONDS + 0.01):
                return None
            continue
        starts = reserved_at + token.wait  # at most SLOT_RESERVE_AHEAD_SECONDS away
        left = starts - time.monotonic()
        if left > 0:
            time.sleep(left)
        if time.monotonic() - starts <= _late_tolerance():
            return token
        # Woke too late (a busy machine): this request could crowd the second after its
        # slot. The slot was never used, so it goes back, and we reserve another.
        pacer.give_back(token)


@dataclass(frozen=True)
class _Retry:
    """Another attempt is due after `delay` seconds; `verify`: the checks must run first."""

    delay: float
    verify: bool


# Dials handed back for a retry, by due time. The broker queue is first in, first out: a
# retry sent back with a countdown lines up behind every dial already waiting there (a
# backlog of minutes), so a worker that finishes a dial first takes any retry that is due
# from here. The broker task stays the fallback; whichever comes first claims the dial
# (`claim_dial` is a conditional update), the other finds nothing to do.
_POP_DUE_SCRIPT = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1)
if due[1] then redis.call('ZREM', KEYS[1], due[1]) end
return due[1]
"""


def _retry_lane_key() -> str:
    return f"dashboard:{settings.CELERY_TASK_DEFAULT_QUEUE}:dial-retries"


def _add_to_retry_lane(dial_id: int, due: datetime) -> None:
    try:
        client = redis_client()
        client.zadd(_retry_lane_key(), {str(dial_id): due.timestamp()})
        # Entries the broker task served first are never popped: let an idle lane expire.
        client.expire(_retry_lane_key(), int(settings.DIAL_DEADLINE_SECONDS) * 2)
    except redis.RedisError as error:
        logger.warning(
            "dial %s not in the retry lane (%s); the broker task serves it", dial_id, error
        )


def _pop_due_retry() -> int | None:
    try:
        popped = redis_client().eval(_POP_DUE_SCRIPT, 1, _retry_lane_key(), time.time())
    except redis.RedisError:
        return None
    return int(popped) if popped else None


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
        except twilio_gateway.GatewayError as error:
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
    creds = accounts.credentials(dial.account)
    token = _take_token(dial, wait_limit=wait_limit)
    if token is None:
        # The next slot is far off: wait in the broker, not in a worker.
        return _Retry(2.0, verify=False)
    started = time.monotonic()
    try:
        placed = twilio_gateway.create_participant(
            creds,
            # By friendly name, as the operator chose it: should that conference have ended,
            # Twilio starts a new one instead of refusing the SID of the old (16022).
            dial.conference.friendly_name,
            params,
            timeout=settings.TWILIO_HTTP_TIMEOUT_SECONDS,
        )
    except twilio_gateway.GatewayError as error:
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
    dial: DialRequest, attempt: DialAttempt, error: twilio_gateway.GatewayError, token: Token
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


@dataclass(frozen=True)
class SweepReport:
    requeued: int
    stale_claims: int
    failed: int
    adopted: int = 0


def sweep_dials() -> SweepReport:
    """Find dials whose task was lost (broker down at commit, worker killed) and resume them."""
    from conferences import tasks

    now = timezone.now()
    lost_after = timedelta(seconds=settings.DIAL_LOST_AFTER_SECONDS)
    give_up_before = now - timedelta(seconds=settings.DIAL_DEADLINE_SECONDS * 2)

    # A worker died while placing: the call may exist, so verify before any re-create.
    stale_ids = list(
        DialRequest.objects.filter(
            status=DialStatus.PLACING, heartbeat_at__lt=_stale_before()
        ).values_list("pk", flat=True)[:500]
    )
    stale = DialRequest.objects.filter(
        pk__in=stale_ids, status=DialStatus.PLACING, heartbeat_at__lt=_stale_before()
    ).update(status=DialStatus.PENDING, needs_verification=True, next_attempt_at=now)

    # A worker died after Twilio took the call: its callbacks moved the dial on, but nobody
    # recorded the placing. Record it now, as decided by check 1 (a callback arrived).
    has_callbacks = Exists(CallbackEvent.objects.filter(dial_id=OuterRef("pk")))
    adopted = (
        DialRequest.objects.filter(placed_at__isnull=True, heartbeat_at__lt=_stale_before())
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
    ids = list(overdue.values_list("pk", flat=True)[:500]) + stale_ids
    requeued = 0
    for dial_id in dict.fromkeys(ids):
        # Push the due time forward first, so the next sweep does not enqueue it again.
        moved = DialRequest.objects.filter(pk=dial_id, status=DialStatus.PENDING).update(
            next_attempt_at=now
        )
        if moved:
            tasks.enqueue_place_dial(dial_id)
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
