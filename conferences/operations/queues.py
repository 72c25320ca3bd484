"""Are workers alive and keeping up? Queue depths and callback lag."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
from django.conf import settings
from django.db.models import Count, Min, QuerySet
from django.utils import timezone

from conferences.core import redis_connection
from conferences.models import (
    WAITING_FOR_WORKER_STATUSES,
    CallbackEvent,
    CallbackKind,
    DialRequest,
)
from conferences.operations import heartbeat
from conferences.operations.findings import (
    Finding,
    Level,
    _for,
    _plural,
)


def workers_alive() -> int | None:
    """Workers whose heartbeat is fresh; None when Redis cannot be asked."""
    try:
        beats = heartbeat.read_heartbeats()
    except redis.RedisError:
        return None
    fresh_within = settings.WORKER_HEARTBEAT_SECONDS * 3
    return sum(1 for beat in beats if beat.age_seconds <= fresh_within)


@dataclass(frozen=True)
class QueueState:
    length: int | None  # None: Redis unreachable
    waiting: int
    oldest_waiting_seconds: float | None


def celery_queue_keys(queue: str) -> list[str]:
    """The Redis lists holding a Celery queue (kombu keeps one per priority step)."""
    return [queue, *(f"{queue}\x06\x16{step}" for step in (3, 6, 9))]


def queue_state(now: datetime | None = None) -> QueueState:
    now = now or timezone.now()
    try:
        client = redis_connection.redis_client()
        length: int | None = sum(
            int(client.llen(key)) for key in celery_queue_keys(settings.CELERY_TASK_DEFAULT_QUEUE)
        )
    except redis.RedisError:
        length = None
    waiting = DialRequest.objects.filter(status__in=WAITING_FOR_WORKER_STATUSES).aggregate(
        count=Count("pk"), oldest=Min("created_at")
    )
    oldest = waiting["oldest"]
    return QueueState(
        length=length,
        waiting=waiting["count"],
        oldest_waiting_seconds=(now - oldest).total_seconds() if oldest else None,
    )


def queue_findings(now: datetime | None = None, state: QueueState | None = None) -> list[Finding]:
    """Dials waiting for a worker far longer than the sweeper allows."""
    state = state or queue_state(now)
    limit = settings.DIAL_LOST_AFTER_SECONDS * 2
    if state.oldest_waiting_seconds is not None and state.oldest_waiting_seconds > limit:
        return [
            Finding(
                Level.PROBLEM,
                f"{_plural(state.waiting, 'dial is', 'dials are')} waiting for a worker, the "
                f"oldest for {_for(state.oldest_waiting_seconds)}"
                + (f" ({state.length} tasks queued)" if state.length is not None else "")
                + ": are the Celery workers running?",
            )
        ]
    return []


# --- Callback lag ---------------------------------------------------------------------


@dataclass(frozen=True)
class LagSummary:
    count: int
    total_seconds: float
    quantiles: dict[float, float]


LAG_QUANTILES = (0.5, 0.9, 0.99)


def callback_lag(
    now: datetime | None = None, *, window: timedelta = timedelta(hours=1)
) -> LagSummary:
    """Twilio's Timestamp to our receipt, over the callbacks of the last hour.

    Twilio's Timestamp has whole seconds, so each lag may read up to a second long.
    """
    now = now or timezone.now()
    pairs = (
        _callbacks()
        .filter(received_at__gte=now - window, twilio_timestamp__isnull=False)
        .values_list("received_at", "twilio_timestamp")[:100_000]
    )
    lags = sorted(
        max(0.0, (received - sent).total_seconds()) for received, sent in pairs if sent is not None
    )
    quantiles = {q: _nearest_rank(lags, q) for q in LAG_QUANTILES} if lags else {}
    return LagSummary(count=len(lags), total_seconds=sum(lags), quantiles=quantiles)


def _nearest_rank(ordered: Sequence[float], quantile: float) -> float:
    index = max(0, math.ceil(quantile * len(ordered)) - 1)
    return ordered[min(index, len(ordered) - 1)]


def _callbacks() -> QuerySet[CallbackEvent]:
    """What Twilio sent us (reconciled events are what we learned ourselves)."""
    return CallbackEvent.objects.exclude(kind=CallbackKind.RECONCILED)
