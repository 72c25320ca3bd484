"""The Prometheus text exposition at /metrics."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import redis
from django.conf import settings
from django.db.models import Count, Sum
from django.utils import timezone

from conferences.callbacks.meaning import WEBHOOK_KINDS
from conferences.models import (
    CallbackEvent,
    CallbackKind,
    CallbackTally,
    CallbackTallyMeasure,
    DialRequest,
    DialStatus,
    RelayDelivery,
    WebhookRejection,
)
from conferences.operations import heartbeat, reconcile_requests
from conferences.operations.queues import LAG_QUANTILES, callback_lag, queue_state
from conferences.operations.webhook_health import (
    LIVE_DIAL_STATUSES,
    RELAY_FAILED,
    _callbacks,
    last_callback_at,
)

# --- Prometheus -----------------------------------------------------------------------


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


@dataclass
class _Family:
    name: str
    kind: str
    help: str
    samples: list[tuple[str, dict[str, str], float]] = field(default_factory=list)

    def add(self, value: float, suffix: str = "", **labels: str) -> None:
        self.samples.append((suffix, labels, value))

    def lines(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} {self.kind}"
        for suffix, labels, value in self.samples:
            label_text = ",".join(f'{key}="{_escape(val)}"' for key, val in labels.items())
            yield (
                f"{self.name}{suffix}{{{label_text}}} {_number(value)}"
                if labels
                else (f"{self.name}{suffix} {_number(value)}")
            )


def _number(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def prometheus_text(now: datetime | None = None) -> str:
    """Every metric in Prometheus' text format 0.0.4 (docs/operations.md lists them)."""
    now = now or timezone.now()
    families: list[_Family] = []

    dials = _Family("dialin_dials", "gauge", "Dials by state.")
    by_status = dict(
        DialRequest.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    for status in DialStatus:
        dials.add(by_status.get(status.value, 0), status=status.value)
    families.append(dials)

    quiet = _Family(
        "dialin_dials_awaiting_reconciliation",
        "gauge",
        "Live dials that heard nothing for RECONCILE_AFTER_SECONDS.",
    )
    quiet.add(
        DialRequest.objects.filter(
            status__in=LIVE_DIAL_STATUSES,
            updated_at__lt=now - timedelta(seconds=settings.RECONCILE_AFTER_SECONDS),
        ).count()
    )
    families.append(quiet)

    state = queue_state(now)
    queue = _Family("dialin_celery_queue_length", "gauge", "Tasks waiting in the Celery queue.")
    if state.length is not None:
        queue.add(state.length, queue=settings.CELERY_TASK_DEFAULT_QUEUE)
    families.append(queue)
    oldest = _Family(
        "dialin_oldest_pending_dial_age_seconds",
        "gauge",
        "Age of the oldest dial not yet placed (pending or placing); 0 when none.",
    )
    oldest.add(round(state.oldest_waiting_seconds or 0.0, 3))
    families.append(oldest)

    stored = dict(_callbacks().values_list("kind").annotate(n=Count("pk")).values_list("kind", "n"))
    callbacks_total = _Family(
        "dialin_callbacks_total", "counter", "Callbacks stored (each delivery counted once)."
    )
    for kind in WEBHOOK_KINDS:
        callbacks_total.add(stored.get(kind, 0), kind=kind)
    families.append(callbacks_total)

    tallies: dict[tuple[str, str], int] = {}
    for kind, measure, count in (
        CallbackTally.objects.values_list("kind", "measure")
        .annotate(n=Sum("count"))
        .values_list("kind", "measure", "n")
    ):
        tallies[(kind, measure)] = int(count)
    for name, measure, text in (
        (
            "dialin_callback_duplicates_total",
            CallbackTallyMeasure.DUPLICATE,
            "Callbacks delivered again after they were stored.",
        ),
        (
            "dialin_callback_out_of_order_total",
            CallbackTallyMeasure.OUT_OF_ORDER,
            "Callbacks that arrived after a later event of the same call or conference.",
        ),
    ):
        family = _Family(name, "counter", text)
        for kind in WEBHOOK_KINDS:
            family.add(tallies.get((kind, measure), 0), kind=kind)
        families.append(family)

    unapplied = _Family(
        "dialin_callbacks_unapplied", "gauge", "Stored callbacks not applied (yet, or failed)."
    )
    unapplied.add(_callbacks().filter(applied_at__isnull=True).count())
    families.append(unapplied)

    reconciled = _Family(
        "dialin_reconciled_events_total",
        "counter",
        "Facts learned from Twilio's API that no callback had brought.",
    )
    reconciled.add(CallbackEvent.objects.filter(kind=CallbackKind.RECONCILED).count())
    families.append(reconciled)
    asked = _Family(
        "dialin_reconcile_api_requests_total",
        "counter",
        "Requests reconciliation made to Twilio's API (counted in Redis, since it started).",
    )
    asked.add(reconcile_requests.api_requests_made())
    families.append(asked)

    last = last_callback_at()
    last_family = _Family(
        "dialin_last_callback_timestamp_seconds",
        "gauge",
        "Unix time the last callback arrived; 0 when none ever did.",
    )
    last_family.add(round(last.timestamp(), 3) if last else 0)
    families.append(last_family)

    lag = callback_lag(now)
    lag_family = _Family(
        "dialin_callback_lag_seconds",
        "summary",
        "Twilio's Timestamp to receipt over the last hour (whole-second Timestamps).",
    )
    for quantile in LAG_QUANTILES:
        lag_family.add(round(lag.quantiles.get(quantile, 0.0), 3), quantile=str(quantile))
    lag_family.add(round(lag.total_seconds, 3), "_sum")
    lag_family.add(lag.count, "_count")
    families.append(lag_family)

    rejections = _Family(
        "dialin_webhook_rejections_total", "counter", "Callbacks refused, by kind and reason."
    )
    refused = WebhookRejection.objects.values_list("kind", "reason").annotate(n=Sum("count"))
    for kind, reason, count in refused.values_list("kind", "reason", "n"):
        rejections.add(int(count), kind=kind, reason=reason)
    families.append(rejections)

    relays = _Family(
        "dialin_relay_failures_total",
        "counter",
        "Relays to operators' own callback URLs that failed or were refused.",
    )
    failed = dict(
        RelayDelivery.objects.filter(status__in=RELAY_FAILED)
        .values_list("event__kind")
        .annotate(n=Count("pk"))
        .values_list("event__kind", "n")
    )
    for kind in WEBHOOK_KINDS:
        relays.add(failed.get(kind, 0), kind=kind)
    families.append(relays)

    families.extend(_worker_families())
    return "\n".join(line for family in families for line in family.lines()) + "\n"


def _worker_families() -> list[_Family]:
    up = _Family("dialin_redis_up", "gauge", "1 when Redis answers.")
    ages = _Family(
        "dialin_worker_heartbeat_age_seconds", "gauge", "Seconds since each worker's heartbeat."
    )
    alive = _Family("dialin_workers_alive", "gauge", "Workers with a fresh heartbeat.")
    try:
        beats = heartbeat.read_heartbeats()
    except redis.RedisError:
        up.add(0)
        return [up, ages, alive]
    up.add(1)
    fresh_within = settings.WORKER_HEARTBEAT_SECONDS * 3
    for beat in beats:
        ages.add(round(beat.age_seconds, 3), worker=beat.worker)
    alive.add(sum(1 for beat in beats if beat.age_seconds <= fresh_within))
    return [up, ages, alive]
