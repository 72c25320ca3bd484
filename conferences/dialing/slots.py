"""Pacing the pipeline: a dial takes a slot of the account's calls per second before it is
created, and waits in a Redis retry lane when no slot is free."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime

import redis
from django.conf import settings

from conferences.core.redis_connection import redis_client
from conferences.dialing.claims import Claim
from conferences.dialing.pacing import Pacer, Token
from conferences.models import DialRequest

logger = logging.getLogger(__name__)


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


def _hold(claim: Claim, until: float) -> bool:
    """Sleep until `until` (monotonic), renewing the claim's lease each second of a longer
    wait so the sweeper never takes this live worker for dead. False as soon as the dial is
    no longer ours (callbacks moved it past placing, or the lease was taken over)."""
    while True:
        left = until - time.monotonic()
        if left <= 0:
            return True
        time.sleep(min(left, 1.0))
        if until > time.monotonic() and not claim.renew():
            return False


def _take_token(dial: DialRequest, claim: Claim, *, wait_limit: float) -> Token | None:
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
            if not _hold(claim, reserved_at + token.wait - SLOT_RESERVE_AHEAD_SECONDS + 0.01):
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
