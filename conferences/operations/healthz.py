"""Liveness for the load balancer, and a detailed report for staff."""

from __future__ import annotations

import logging

import redis
from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from conferences.core import redis_connection
from conferences.operations import heartbeat, queues
from conferences.operations import webhook_health as webhook_health_reads

logger = logging.getLogger(__name__)


def _database_ok() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        return False, f"database unreachable: {error.__class__.__name__}"
    return True, "ok"


@login_not_required
@never_cache
@require_GET
def liveness(request: HttpRequest) -> HttpResponse:
    """200 when this process reaches its database; nothing else, so a down worker never
    makes the load balancer restart the web tier."""
    ok, detail = _database_ok()
    if not ok:
        logger.error("healthz: %s", detail)
    return HttpResponse(
        "ok" if ok else "database unreachable",
        status=200 if ok else 503,
        content_type="text/plain",
    )


def _redis_and_workers() -> tuple[dict[str, object], dict[str, object]]:
    fresh_within = settings.WORKER_HEARTBEAT_SECONDS * 3
    try:
        client = redis_connection.redis_client()
        client.ping()
        beats = heartbeat.read_heartbeats(client)
    except redis.RedisError as error:
        redis_report = {"ok": False, "detail": f"redis unreachable: {error.__class__.__name__}"}
        return redis_report, {"ok": False, "detail": "unknown: redis unreachable", "workers": []}
    workers = [{"name": b.worker, "age_seconds": round(b.age_seconds, 1)} for b in beats]
    if not beats:
        worker_report: dict[str, object] = {
            "ok": False,
            "detail": "no worker heartbeat: start a Celery worker",
            "workers": [],
        }
    else:
        newest = beats[0].age_seconds
        worker_report = {
            "ok": newest <= fresh_within,
            "detail": (
                f"newest heartbeat {newest:.1f}s ago"
                if newest <= fresh_within
                else f"newest heartbeat {newest:.1f}s ago: workers may be stuck"
            ),
            "newest_age_seconds": round(newest, 1),
            "workers": workers,
        }
    return {"ok": True, "detail": "ok"}, worker_report


def _report(
    findings: list[webhook_health_reads.Finding], fine: str, **figures: object
) -> dict[str, object]:
    return {
        "ok": not any(f.level == webhook_health_reads.Level.PROBLEM for f in findings),
        "detail": " ".join(f.text for f in findings) or fine,
        "problems": [{"level": f.level, "text": f.text} for f in findings],
        **figures,
    }


def _callbacks_and_dials() -> dict[str, dict[str, object]]:
    """The webhook health page's findings, in words (issue 12)."""
    now = timezone.now()
    last = webhook_health_reads.last_callback_at()
    age = round((now - last).total_seconds(), 1) if last else None
    queue = queues.queue_state(now)
    return {
        "callbacks": _report(
            webhook_health_reads.callback_findings(now),
            f"last callback {age:.0f} s ago" if age is not None else "no callback yet",
            last_callback_age_seconds=age,
        ),
        "dials": _report(
            queues.queue_findings(now, queue),
            "no dial waits for a worker",
            queue_length=queue.length,
            waiting_for_worker=queue.waiting,
            oldest_waiting_seconds=(
                round(queue.oldest_waiting_seconds, 1)
                if queue.oldest_waiting_seconds is not None
                else None
            ),
        ),
    }


@staff_member_required
@never_cache
@require_GET
def detail(request: HttpRequest) -> JsonResponse:
    """Database, Redis and Celery workers, each with its state in words."""
    db_ok, db_detail = _database_ok()
    redis_report, worker_report = _redis_and_workers()
    checks = {
        "database": {"ok": db_ok, "detail": db_detail},
        "redis": redis_report,
        "workers": worker_report,
    }
    if db_ok:
        checks.update(_callbacks_and_dials())
    healthy = all(bool(check["ok"]) for check in checks.values())
    return JsonResponse({"ok": healthy, "checks": checks}, status=200 if healthy else 503)
