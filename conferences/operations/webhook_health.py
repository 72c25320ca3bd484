"""Are callbacks flowing, and if not, why? The supervisors' webhook health page.

Stored callbacks are counted from CallbackEvent, refusals from WebhookRejection, relay
failures from RelayDelivery, duplicates and disorder from CallbackTally."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from conferences.callbacks import applier as callback_applier
from conferences.core.counters import hour_of
from conferences.models import (
    BEFORE_ANSWER_STATUSES,
    LIVE_DIAL_STATUSES,
    CallbackKind,
    CallbackTally,
    CallbackTallyMeasure,
    DialRequest,
    RelayDelivery,
    RelayDeliveryStatus,
    WebhookRejection,
    WebhookRejectionReason,
)
from conferences.operations.findings import _LEVEL_ORDER, Finding, Level, _for, _plural
from conferences.operations.queues import _callbacks, queue_findings, workers_alive

logger = logging.getLogger(__name__)

SIGNATURE_REASONS = (
    WebhookRejectionReason.MISSING_SIGNATURE,
    WebhookRejectionReason.BAD_SIGNATURE,
    WebhookRejectionReason.UNKNOWN_ACCOUNT,
)
MALFORMED_REASONS = (
    WebhookRejectionReason.MALFORMED,
    WebhookRejectionReason.TOO_LARGE,
    WebhookRejectionReason.TOO_MANY_FIELDS,
)
RELAY_FAILED = (RelayDeliveryStatus.FAILED, RelayDeliveryStatus.REFUSED)


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
    tallies = CallbackTally.objects.filter(hour__gte=hour_of(since)).values_list(
        "hour", "kind", "measure", "count"
    )
    for hour, kind, measure, count in tallies:
        target = row(hour, kind)
        if measure == CallbackTallyMeasure.DUPLICATE:
            target.duplicates += count
        else:
            target.out_of_order += count
    refusals = WebhookRejection.objects.filter(hour__gte=hour_of(since)).values_list(
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


def webhook_health(*, hours: int = 24, now: datetime | None = None) -> WebhookHealth:
    """Everything the webhook health page shows, read at once."""
    now = now or timezone.now()
    since = hour_of(now) - timedelta(hours=hours - 1)
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
        WebhookRejection.objects.filter(hour__gte=hour_of(hour_ago))
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
    if bad_host := refused.get(WebhookRejectionReason.BAD_HOST, 0):
        findings.append(
            Finding(
                Level.PROBLEM if not accepted else Level.WARNING,
                f"{_plural(bad_host, 'callback')} refused this hour before reaching the app: "
                "its Host header is not in ALLOWED_HOSTS (a proxy passing its own host name?).",
            )
        )
    if malformed := sum(refused.get(reason, 0) for reason in MALFORMED_REASONS):
        findings.append(
            Finding(
                Level.WARNING,
                f"{_plural(malformed, 'callback')} this hour refused as malformed, too large "
                "or with too many fields.",
            )
        )
    unapplied = _callbacks().filter(applied_at__isnull=True)
    if failed := unapplied.filter(apply_attempts__gte=callback_applier.MAX_APPLY_ATTEMPTS).count():
        findings.append(
            Finding(
                Level.PROBLEM,
                f"{_plural(failed, 'stored callback')} could not be applied (a bug): see the "
                "logs for “Could not apply callback event”.",
            )
        )
    waiting = unapplied.filter(
        apply_attempts__lt=callback_applier.MAX_APPLY_ATTEMPTS,
        received_at__lt=now - timedelta(minutes=1),
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
