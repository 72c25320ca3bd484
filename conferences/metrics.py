"""Are callbacks flowing, and if not, why? Webhook health, Prometheus metrics, the self-test.

Three readers share these figures: the supervisors' page (/ops/webhooks/), Prometheus
(/metrics) and /healthz/detail. Stored callbacks are counted from CallbackEvent, refusals
from WebhookRejection, relay failures from RelayDelivery; the webhook path adds only what
none of those records: duplicates and callbacks that arrived out of order (CallbackTally).

The self-test sends a signed callback from this server to itself through PUBLIC_BASE_URL,
as Twilio would, to a dedicated endpoint that verifies it like the real ones and notes its
arrival in Redis; what came back (or did not) names the likely misconfiguration.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

import redis
import requests
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max, Min, Q, QuerySet, Sum
from django.db.models.functions import TruncHour
from django.urls import reverse
from django.utils import timezone

from conferences import accounts, audit, callbacks, heartbeat, relay
from conferences.models import (
    CallbackEvent,
    CallbackKind,
    CallbackTally,
    CallbackTallyMeasure,
    DialRequest,
    DialStatus,
    RelayDelivery,
    RelayDeliveryStatus,
    User,
    WebhookRejection,
    WebhookRejectionReason,
)

logger = logging.getLogger(__name__)

# The kinds Twilio calls us with (a "reconciled" event is ours, not a callback).
WEBHOOK_KINDS: tuple[str, ...] = (
    CallbackKind.CALL_STATUS,
    CallbackKind.CONFERENCE,
    CallbackKind.RECORDING,
    CallbackKind.CONFERENCE_RECORDING,
    CallbackKind.AMD,
)
SIGNATURE_REASONS = (
    WebhookRejectionReason.MISSING_SIGNATURE,
    WebhookRejectionReason.BAD_SIGNATURE,
    WebhookRejectionReason.UNKNOWN_ACCOUNT,
)
MALFORMED_REASONS = (WebhookRejectionReason.MALFORMED, WebhookRejectionReason.TOO_LARGE)
RELAY_FAILED = (RelayDeliveryStatus.FAILED, RelayDeliveryStatus.REFUSED)
# Live at Twilio: placed and not final. Pending and placing belong to the dial pipeline.
LIVE_DIAL_STATUSES = (
    DialStatus.QUEUED,
    DialStatus.INITIATED,
    DialStatus.RINGING,
    DialStatus.IN_PROGRESS,
)
BEFORE_ANSWER_STATUSES = (DialStatus.QUEUED, DialStatus.INITIATED, DialStatus.RINGING)
WAITING_FOR_WORKER_STATUSES = (DialStatus.PENDING, DialStatus.PLACING)


def _hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


# --- Tallies written on the webhook path (receiver and applier) -----------------------


def _tally(kind: str, measure: str, *, at: datetime | None = None) -> None:
    now = at or timezone.now()
    rows = CallbackTally.objects.filter(kind=kind, hour=_hour(now), measure=measure)
    for _ in range(2):  # the second round only when another request created the row first
        if rows.update(count=F("count") + 1, last_at=now):
            return
        try:
            with transaction.atomic():
                CallbackTally.objects.create(
                    kind=kind, hour=_hour(now), measure=measure, count=1, last_at=now
                )
            return
        except IntegrityError:
            continue


def count_duplicate(kind: str) -> None:
    """One more delivery of a callback already stored (Twilio or a proxy sent it again)."""
    _tally(kind, CallbackTallyMeasure.DUPLICATE)


def note_arrival_order(event: CallbackEvent) -> None:
    """Count the event if a later one (higher SequenceNumber) of its call or conference
    arrived first. Only indexed columns are searched: the dial's or conference's events."""
    if event.sequence_number is None:
        return
    if event.kind == CallbackKind.CALL_STATUS and event.dial_id is not None:
        earlier = CallbackEvent.objects.filter(dial_id=event.dial_id, call_sid=event.call_sid)
    elif event.kind == CallbackKind.CONFERENCE and event.conference_id is not None:
        earlier = CallbackEvent.objects.filter(
            conference_id=event.conference_id, conference_sid=event.conference_sid
        )
    else:
        return
    # Ids follow arrival (the receiver inserts as callbacks come in), so "arrived first" is
    # "has a smaller id", even when the applier gets to the events later and in a batch.
    later_arrived_first = earlier.filter(
        kind=event.kind, sequence_number__gt=event.sequence_number, pk__lt=event.pk
    ).exists()
    if later_arrived_first:
        _tally(event.kind, CallbackTallyMeasure.OUT_OF_ORDER, at=event.received_at)


# --- Webhook health: per kind and hour ------------------------------------------------


@dataclass
class HourRow:
    """One kind of callback in one hour (UTC hour start; pages show it in the user's zone)."""

    hour: datetime | None
    kind: str
    stored: int = 0
    applied: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    rejected_signature: int = 0
    malformed: int = 0
    relay_failures: int = 0

    @property
    def received(self) -> int:
        """Every request that reached the endpoint: stored, repeated or refused."""
        return self.stored + self.duplicates + self.rejected_signature + self.malformed

    @property
    def kind_label(self) -> str:
        return str(CallbackKind(self.kind).label) if self.kind in CallbackKind.values else self.kind

    def add(self, other: HourRow) -> None:
        for name in (
            "stored",
            "applied",
            "duplicates",
            "out_of_order",
            "rejected_signature",
            "malformed",
            "relay_failures",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))


class Level:
    OK = "ok"
    INFO = "info"
    WARNING = "warning"
    PROBLEM = "problem"


_LEVEL_ORDER = {Level.OK: 0, Level.INFO: 0, Level.WARNING: 1, Level.PROBLEM: 2}


@dataclass(frozen=True)
class Finding:
    """One thing a supervisor should know, in words, and how bad it is."""

    level: str
    text: str


@dataclass(frozen=True)
class LastCallback:
    kind: str
    kind_label: str
    at: datetime


@dataclass(frozen=True)
class WebhookHealth:
    since: datetime
    now: datetime
    rows: list[HourRow]  # newest hour first
    totals: HourRow
    last_callback_at: datetime | None
    last_by_kind: list[LastCallback]
    findings: list[Finding]
    workers_alive: int | None  # None: Redis unreachable

    @property
    def level(self) -> str:
        worst = max((_LEVEL_ORDER[f.level] for f in self.findings), default=0)
        return {0: Level.OK, 1: Level.WARNING, 2: Level.PROBLEM}[worst]

    @property
    def last_callback_age(self) -> timedelta | None:
        return self.now - self.last_callback_at if self.last_callback_at else None


def _callbacks() -> QuerySet[CallbackEvent]:
    """What Twilio sent us (reconciled events are what we learned ourselves)."""
    return CallbackEvent.objects.exclude(kind=CallbackKind.RECONCILED)


def hourly_rows(since: datetime) -> list[HourRow]:
    """Counts per (hour, kind) since `since`, newest hour first; empty pairs left out."""
    rows: dict[tuple[datetime, str], HourRow] = {}

    def row(hour: datetime, kind: str) -> HourRow:
        return rows.setdefault((hour, kind), HourRow(hour=hour, kind=kind))

    stored = (
        _callbacks()
        .filter(received_at__gte=since)
        .annotate(at_hour=TruncHour("received_at", tzinfo=UTC))
        .values("at_hour", "kind")
        .annotate(stored=Count("pk"), applied=Count("pk", filter=Q(applied_at__isnull=False)))
    )
    for item in stored:
        target = row(item["at_hour"], item["kind"])
        target.stored, target.applied = item["stored"], item["applied"]
    tallies = CallbackTally.objects.filter(hour__gte=_hour(since)).values_list(
        "hour", "kind", "measure", "count"
    )
    for hour, kind, measure, count in tallies:
        target = row(hour, kind)
        if measure == CallbackTallyMeasure.DUPLICATE:
            target.duplicates += count
        else:
            target.out_of_order += count
    refusals = WebhookRejection.objects.filter(hour__gte=_hour(since)).values_list(
        "hour", "kind", "reason", "count"
    )
    for hour, kind, reason, count in refusals:
        target = row(hour, kind)
        if reason in SIGNATURE_REASONS:
            target.rejected_signature += count
        else:
            target.malformed += count
    relays = (
        RelayDelivery.objects.filter(created_at__gte=since, status__in=RELAY_FAILED)
        .annotate(at_hour=TruncHour("created_at", tzinfo=UTC))
        .values("at_hour", "event__kind")
        .annotate(failed=Count("pk"))
    )
    for failure in relays:
        row(failure["at_hour"], failure["event__kind"]).relay_failures += failure["failed"]
    return sorted(rows.values(), key=lambda r: (-(r.hour or since).timestamp(), r.kind))


def last_callbacks(*, within: timedelta = timedelta(days=7)) -> list[LastCallback]:
    """When each kind last arrived (within a week: an index range, not the whole table)."""
    recent = _callbacks().filter(received_at__gte=timezone.now() - within)
    found = recent.values("kind").annotate(last=Max("received_at")).order_by("-last")
    return [
        LastCallback(
            kind=item["kind"], kind_label=HourRow(None, item["kind"]).kind_label, at=item["last"]
        )
        for item in found
    ]


def last_callback_at() -> datetime | None:
    """When Twilio's last callback arrived, of any kind."""
    last: datetime | None = _callbacks().aggregate(last=Max("received_at"))["last"]
    return last


def workers_alive() -> int | None:
    """Workers whose heartbeat is fresh; None when Redis cannot be asked."""
    try:
        beats = heartbeat.read_heartbeats()
    except redis.RedisError:
        return None
    fresh_within = settings.WORKER_HEARTBEAT_SECONDS * 3
    return sum(1 for beat in beats if beat.age_seconds <= fresh_within)


def webhook_health(*, hours: int = 24, now: datetime | None = None) -> WebhookHealth:
    """Everything the webhook health page shows, read at once."""
    now = now or timezone.now()
    since = _hour(now) - timedelta(hours=hours - 1)
    rows = hourly_rows(since)
    totals = HourRow(hour=None, kind="")
    for each in rows:
        totals.add(each)
    last = last_callbacks()
    alive = workers_alive()
    findings = callback_findings(now) + queue_findings(now)
    if alive == 0:
        findings.append(
            Finding(Level.PROBLEM, "No Celery worker has a fresh heartbeat: nothing is dialed.")
        )
    return WebhookHealth(
        since=since,
        now=now,
        rows=rows,
        totals=totals,
        last_callback_at=last_callback_at(),
        last_by_kind=last,
        findings=findings,
        workers_alive=alive,
    )


# --- Findings in words (the page and /healthz/detail) ---------------------------------


def _for(seconds: float) -> str:
    """A duration as people say it: 45 s, 12 min, 3 h 5 min."""
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def callback_findings(now: datetime | None = None) -> list[Finding]:
    """What is wrong with the callbacks now, in words; nothing when all is well."""
    now = now or timezone.now()
    quiet_after = timedelta(seconds=settings.RECONCILE_AFTER_SECONDS)
    hour_ago = now - timedelta(hours=1)
    findings: list[Finding] = []
    live = DialRequest.objects.filter(status__in=LIVE_DIAL_STATUSES).count()
    last = last_callback_at()
    if live and (last is None or now - last > quiet_after):
        silence = (
            "No callback has ever arrived"
            if last is None
            else (f"No callback for {_for((now - last).total_seconds())}")
        )
        findings.append(
            Finding(
                Level.PROBLEM,
                f"{silence} while {_plural(live, 'call is', 'calls are')} live: Twilio may not "
                f"reach {settings.PUBLIC_BASE_URL}. Run the self-test.",
            )
        )
    refused = dict(
        WebhookRejection.objects.filter(hour__gte=_hour(hour_ago))
        .values_list("reason")
        .annotate(total=Sum("count"))
        .values_list("reason", "total")
    )
    accepted = _callbacks().filter(received_at__gte=hour_ago).count()
    bad_signatures = refused.get(WebhookRejectionReason.BAD_SIGNATURE, 0) + refused.get(
        WebhookRejectionReason.MISSING_SIGNATURE, 0
    )
    if bad_signatures:
        findings.append(
            Finding(
                Level.PROBLEM if not accepted else Level.WARNING,
                f"{_plural(bad_signatures, 'callback')} refused this hour for a missing or "
                f"wrong signature ({accepted} accepted): the URL Twilio signs is not the one "
                "this app checks (PUBLIC_BASE_URL, or the proxy's X-Forwarded headers). "
                "Run the self-test.",
            )
        )
    if unknown := refused.get(WebhookRejectionReason.UNKNOWN_ACCOUNT, 0):
        findings.append(
            Finding(
                Level.WARNING,
                f"{_plural(unknown, 'callback')} this hour from an AccountSid this app does not "
                "know: another account points at this app, or someone probes it.",
            )
        )
    if malformed := sum(refused.get(reason, 0) for reason in MALFORMED_REASONS):
        findings.append(
            Finding(
                Level.WARNING,
                f"{_plural(malformed, 'callback')} this hour refused as malformed or too large.",
            )
        )
    unapplied = _callbacks().filter(applied_at__isnull=True)
    if failed := unapplied.filter(apply_attempts__gte=callbacks.MAX_APPLY_ATTEMPTS).count():
        findings.append(
            Finding(
                Level.PROBLEM,
                f"{_plural(failed, 'stored callback')} could not be applied (a bug): see the "
                "logs for “Could not apply callback event”.",
            )
        )
    waiting = unapplied.filter(
        apply_attempts__lt=callbacks.MAX_APPLY_ATTEMPTS, received_at__lt=now - timedelta(minutes=1)
    ).count()
    if waiting:
        findings.append(
            Finding(
                Level.WARNING,
                f"{_plural(waiting, 'callback')} stored over a minute ago still waiting to be "
                "applied: is the callbacks process (manage.py apply_callbacks) running?",
            )
        )
    stuck = DialRequest.objects.filter(
        status__in=BEFORE_ANSWER_STATUSES, updated_at__lt=now - quiet_after
    ).count()
    if stuck:
        findings.append(
            Finding(
                Level.WARNING,
                f"{_plural(stuck, 'call has', 'calls have')} been queued or ringing for over "
                f"{_for(quiet_after.total_seconds())}: their callbacks may be lost. The "
                f"reconciler asks Twilio every {_for(settings.RECONCILE_INTERVAL_SECONDS)}.",
            )
        )
    relay_failures = RelayDelivery.objects.filter(
        created_at__gte=hour_ago, status__in=RELAY_FAILED
    ).count()
    if relay_failures:
        findings.append(
            Finding(
                Level.WARNING,
                f"{_plural(relay_failures, 'relay')} to operators' own callback URLs failed this "
                "hour (their endpoints, not Twilio's callbacks to us).",
            )
        )
    return findings


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
        client = heartbeat.redis_client()
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


# --- The self-test --------------------------------------------------------------------


SELF_TEST_TTL_SECONDS = 600
SELF_TEST_PARAMETER = "SelfTest"


def _self_test_key(nonce: str) -> str:
    return f"dashboard:{settings.CELERY_TASK_DEFAULT_QUEUE}:webhook-self-test:{nonce}"


class Cause:
    """Why a self-test failed, as the page names it."""

    SCHEME = "scheme"
    HOST = "host"
    PORT = "port"
    PATH = "path"
    DNS = "dns"
    CONNECTION = "connection"
    TIMEOUT = "timeout"
    TLS = "tls"
    REDIRECT = "redirect"
    PROXY = "proxy"
    SIGNATURE = "signature"
    OTHER_SERVER = "other-server"
    SETUP = "setup"


@dataclass(frozen=True)
class SelfTestResult:
    ok: bool
    url: str
    summary: str
    cause: str = ""
    http_status: int | None = None
    elapsed_ms: int = 0


def record_self_test_arrival(nonce: str, *, verified: bool, checked_urls: Sequence[str]) -> bool:
    """Note that a self-test callback arrived (and whether it verified). False: no self-test
    is waiting for this nonce, so nothing is written."""
    value = json.dumps(
        {"state": "verified" if verified else "refused", "checked_urls": list(checked_urls)}
    )
    try:
        written = heartbeat.redis_client().set(
            _self_test_key(nonce), value, ex=SELF_TEST_TTL_SECONDS, xx=True
        )
    except redis.RedisError:
        logger.warning("webhook self-test arrival not recorded: Redis unreachable")
        return False
    return bool(written)


def run_self_test(*, actor: User | AnonymousUser | None) -> SelfTestResult:
    """Send a signed test callback to this app through PUBLIC_BASE_URL; say what happened."""
    result = _self_test()
    audit.record(
        audit.AuditAction.WEBHOOK_SELF_TEST,
        actor=actor,
        target_type="webhooks",
        outcome="ok" if result.ok else "failed",
        detail={"url": result.url, "cause": result.cause, "http_status": result.http_status},
    )
    log = logger.info if result.ok else logger.warning
    log("webhook self-test %s: %s", "passed" if result.ok else "failed", result.summary)
    return result


def _self_test() -> SelfTestResult:
    nonce = f"st-{secrets.token_hex(12)}"
    path = reverse("conferences:webhook-self-test", kwargs={"nonce": nonce})
    url = f"{settings.PUBLIC_BASE_URL}{path}"
    account = accounts.default_account()
    tokens = accounts.signing_tokens(account.account_sid)
    if not tokens:
        return SelfTestResult(
            False, url, "The default Twilio account has no auth token to sign with.", Cause.SETUP
        )
    key = _self_test_key(nonce)
    try:
        client = heartbeat.redis_client()
        client.set(key, json.dumps({"state": "sent"}), ex=SELF_TEST_TTL_SECONDS)
    except redis.RedisError:
        return SelfTestResult(
            False, url, "Redis is unreachable, so an arrival could not be noted.", Cause.SETUP
        )
    params = [
        ("AccountSid", account.account_sid),
        (SELF_TEST_PARAMETER, nonce),
        ("Timestamp", format_datetime(timezone.now().astimezone(UTC), usegmt=True)),
    ]
    headers = {
        "X-Twilio-Signature": relay.twilio_signature(tokens[0], url, params),
        "User-Agent": "TwilioProxy/1.1 (dashboard webhook self-test)",
    }
    timeout = settings.WEBHOOK_SELF_TEST_TIMEOUT_SECONDS
    started = time.monotonic()
    try:
        response = requests.post(
            url, data=params, headers=headers, timeout=timeout, allow_redirects=False
        )
    except requests.RequestException as error:
        elapsed = int((time.monotonic() - started) * 1000)
        return _transport_failure(url, error, elapsed)
    elapsed = int((time.monotonic() - started) * 1000)
    try:
        raw = client.get(key)
    except redis.RedisError:
        raw = None
    arrival: dict[str, Any] = json.loads(raw) if raw else {}
    return _answer(url, response, arrival, elapsed)


def _netloc(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def _speaks_plain_http(url: str) -> bool:
    parts = urlsplit(url)
    try:
        requests.get(
            f"http://{parts.netloc}/healthz",
            timeout=min(2.0, settings.WEBHOOK_SELF_TEST_TIMEOUT_SECONDS),
            allow_redirects=False,
        )
    except requests.RequestException:
        return False
    return True


_DNS_WORDS = (
    "NameResolutionError",
    "Name or service not known",
    "nodename nor servname",
    "Temporary failure in name resolution",
    "getaddrinfo failed",
    "No address associated",
)


def _transport_failure(url: str, error: Exception, elapsed_ms: int) -> SelfTestResult:
    host, port = _netloc(url)
    scheme = urlsplit(url).scheme
    text = str(error)

    def failed(cause: str, summary: str) -> SelfTestResult:
        return SelfTestResult(False, url, summary, cause, None, elapsed_ms)

    if isinstance(error, requests.exceptions.SSLError):
        if scheme == "https" and _speaks_plain_http(url):
            return failed(
                Cause.SCHEME,
                f"PUBLIC_BASE_URL starts with https:// but {host}:{port} speaks plain http. "
                "Behind a TLS-terminating proxy, PUBLIC_BASE_URL must be the proxy's https "
                "address; without one, it must start with http://.",
            )
        return failed(
            Cause.TLS,
            f"The TLS handshake with {host}:{port} failed: is its certificate valid for "
            f"{host}? ({type(error).__name__})",
        )
    if isinstance(error, requests.exceptions.Timeout):
        return failed(
            Cause.TIMEOUT,
            f"No answer from {host}:{port} within {settings.WEBHOOK_SELF_TEST_TIMEOUT_SECONDS:g} "
            "s: a firewall may drop the traffic, or the proxy cannot reach the app.",
        )
    if isinstance(error, requests.exceptions.ConnectionError):
        if any(words in text for words in _DNS_WORDS):
            return failed(
                Cause.DNS,
                f"The host name {host} does not resolve (DNS): check the host in PUBLIC_BASE_URL.",
            )
        if "refused" in text.lower():
            return failed(
                Cause.PORT,
                f"Nothing accepts connections at {host}:{port} (connection refused): the port "
                "in PUBLIC_BASE_URL is wrong, or the proxy in front of the app is not running.",
            )
        hint = (
            f" If {host}:{port} expects TLS, PUBLIC_BASE_URL must start with https://."
            if scheme == "http"
            else ""
        )
        return failed(
            Cause.CONNECTION,
            f"The connection to {host}:{port} failed ({type(error).__name__}).{hint}",
        )
    return failed(Cause.CONNECTION, f"The request failed: {type(error).__name__}.")


def _answer(
    url: str, response: requests.Response, arrival: dict[str, Any], elapsed_ms: int
) -> SelfTestResult:
    status = response.status_code
    state = arrival.get("state")
    base = settings.PUBLIC_BASE_URL

    def result(ok: bool, summary: str, cause: str = "") -> SelfTestResult:
        return SelfTestResult(ok, url, summary, cause, status, elapsed_ms)

    if state == "verified":
        if 200 <= status < 300:
            return result(
                True,
                f"The test callback reached this app through {base} and its signature "
                f"verified ({elapsed_ms} ms).",
            )
        return result(
            False,
            f"The app received and verified the test callback, but the answer came back as "
            f"HTTP {status}: something between Twilio and the app changes the answers.",
            Cause.PROXY,
        )
    if state == "refused":
        return _signature_mismatch(url, arrival.get("checked_urls") or [], result)
    return _never_arrived(url, response, result)


def _port_of(parts: Any) -> int:
    return int(parts.port or (443 if parts.scheme == "https" else 80))


def _signature_mismatch(url: str, checked: Sequence[str], result: Any) -> SelfTestResult:
    signed = urlsplit(url)
    other = urlsplit(checked[0]) if checked else signed
    differences = [
        (cause, f"{name} ({mine} signed, {theirs} checked)")
        for cause, name, mine, theirs in (
            (Cause.SCHEME, "scheme", signed.scheme, other.scheme),
            (Cause.HOST, "host", signed.hostname, other.hostname),
            (Cause.PORT, "port", _port_of(signed), _port_of(other)),
            (Cause.PATH, "path", signed.path, other.path),
        )
        if mine != theirs
    ]
    if not differences:
        return result(
            False,
            "The test callback reached the app, but its signature did not verify although the "
            "URLs agree: the web processes do not share one TWILIO_AUTH_TOKEN.",
            Cause.SIGNATURE,
        )
    named = ", ".join(words for _cause, words in differences)
    return result(
        False,
        f"The test callback reached the app, but the app checked its signature against "
        f"{checked[0]} while it was signed for {url}: the {named} differ. With "
        "WEBHOOK_TRUST_FORWARDED_HEADERS the proxy's X-Forwarded-Proto/Host/Port must "
        "describe PUBLIC_BASE_URL; otherwise PUBLIC_BASE_URL must be the address Twilio uses.",
        differences[0][0],
    )


def _never_arrived(url: str, response: requests.Response, result: Any) -> SelfTestResult:
    status = response.status_code
    parts = urlsplit(url)
    host, port = _netloc(url)
    if 300 <= status < 400:
        location = response.headers.get("Location", "")
        if parts.scheme == "http" and location.startswith("https://"):
            return result(
                False,
                f"{parts.scheme}://{parts.netloc} redirects to https ({location}): Twilio does "
                "not follow redirects. Set PUBLIC_BASE_URL to the https:// address.",
                Cause.SCHEME,
            )
        return result(
            False,
            f"The URL answered a redirect to {location or '(no Location)'}: Twilio does not "
            "follow redirects. Set PUBLIC_BASE_URL to the address that answers directly.",
            Cause.REDIRECT,
        )
    body = response.text[:2000] if response.content else ""
    if status == 400 and parts.scheme == "http" and "https" in body.lower():
        return result(
            False,
            f"{host}:{port} expects TLS: PUBLIC_BASE_URL must start with https://.",
            Cause.SCHEME,
        )
    if status == 404:
        prefix = urlsplit(settings.PUBLIC_BASE_URL).path.rstrip("/")
        return result(
            False,
            f"{url} answered 404 before reaching the self-test endpoint: the path prefix in "
            f"PUBLIC_BASE_URL ({prefix or 'none'}) does not match how the proxy forwards to "
            "the app (it must strip exactly that prefix and pass /webhooks/ on).",
            Cause.PATH,
        )
    if status == 400:
        return result(
            False,
            f"{host} answered 400 before the request reached the endpoint: Django refuses a "
            f"Host header that is not in ALLOWED_HOSTS (is {host} listed?), or the proxy "
            "refused the request.",
            Cause.HOST,
        )
    if status in (502, 503, 504):
        return result(
            False,
            f"A proxy at {host}:{port} answered {status}: it cannot reach the app (wrong "
            "upstream address or port, or the app is down).",
            Cause.PROXY,
        )
    if 200 <= status < 300:
        return result(
            False,
            f"Something at {host}:{port} answered {status}, but the test callback never "
            "arrived here: PUBLIC_BASE_URL points at another server (host or port).",
            Cause.OTHER_SERVER,
        )
    return result(
        False,
        f"{host}:{port} answered HTTP {status} and the test callback never arrived: a proxy "
        "or firewall in between refuses it.",
        Cause.PROXY,
    )
