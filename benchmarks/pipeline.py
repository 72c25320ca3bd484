"""Dial throughput against the CPS limit with faults on (issue 7).

Sandbox at 300 ms latency, 10 % 429 and 5 % 500; 2 workers with concurrency 4 each; CPS
limit 10, burst 1; 500 dials. Every figure is counted from the sandbox's request log, not
from our own records, except the submit-to-CallSid time.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from datetime import datetime, timedelta

from benchmarks.harness import (
    LOG_DIR,
    Processes,
    Results,
    bench_env,
    free_port,
    fresh_database,
    gunicorn,
    percentile,
    processes,
    scale,
    setup_django,
    wait_for,
)

CPS = 10


def _arrival(entry: dict) -> datetime:
    return datetime.fromisoformat(entry["time"]) - timedelta(milliseconds=entry["duration_ms"])


def _rate(arrivals: list[datetime]) -> float:
    if len(arrivals) < 2:
        return float("nan")
    span = (arrivals[-1] - arrivals[0]).total_seconds()
    return (len(arrivals) - 1) / span if span > 0 else float("nan")


def _start_workers(group: Processes, env: dict[str, str]) -> None:
    # Two dial workers of concurrency 4 (the setting), and the process that applies
    # callbacks beside them, as production runs it (Procfile `callbacks`).
    group.start("callbacks", [sys.executable, "manage.py", "apply_callbacks"], env)
    for name, queue, concurrency in (("a", "bench", 4), ("b", "bench", 4)):
        group.start(
            f"worker-{name}",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "dashboard",
                "worker",
                "--queues",
                queue,
                "--concurrency",
                str(concurrency),
                "--hostname",
                f"bench-{name}@%h",
                "--loglevel",
                "WARNING",
                "--without-mingle",
                "--without-gossip",
                "--without-heartbeat",
            ],
            env,
        )
    group.start(
        "beat",
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "dashboard",
            "beat",
            "--loglevel",
            "WARNING",
            "--schedule",
            "var/bench/celerybeat-schedule",
        ],
        env,
    )


def run(results: Results) -> None:
    from twilio_sandbox import Sandbox
    from twilio_sandbox.faults import Faults

    dials_wanted = 500 if scale() == "full" else 60
    print(f"pipeline: {dials_wanted} dials, CPS {CPS}, 300 ms latency, 10 % 429, 5 % 500")
    fresh_database()
    faults = Faults.from_json(
        {
            "latency_ms": 300,
            "rules": [
                {"error_rate": 0.10, "error_statuses": [429]},
                {"error_rate": 0.05, "error_statuses": [500]},
            ],
        }
    )
    sandbox = Sandbox(host="127.0.0.1", port=0, speed=20.0, seed=11, faults=faults).start()
    web_port = free_port()
    env = bench_env(
        PUBLIC_BASE_URL=f"http://127.0.0.1:{web_port}",
        TWILIO_API_BASE_URL=sandbox.url,
        TWILIO_CPS=str(CPS),
        TWILIO_HTTP_TIMEOUT_SECONDS="5",
        DIAL_VERIFY_GRACE_SECONDS="2",
        DIAL_RETRY_BASE_SECONDS="0.5",
        DIAL_RETRY_MAX_SECONDS="8",
        DIAL_MAX_ATTEMPTS="10",
    )
    try:
        with processes("pipeline") as group:
            gunicorn(group, "web", web_port, env, workers=3)
            setup_django(env)
            _measure(results, group, env, sandbox, dials_wanted)
    finally:
        sandbox.stop()


def _dump(sandbox: object) -> None:
    """The sandbox's request log and our attempts, for looking at where the time went."""
    from conferences.models import DialAttempt

    attempts = list(
        DialAttempt.objects.values(
            "dial_id", "number", "started_at", "outcome", "decided_by", "http_status", "latency_ms"
        )
    )
    out = {"requests": sandbox.requests(), "attempts": attempts}  # type: ignore[attr-defined]
    path = LOG_DIR / "pipeline-data.json"
    path.write_text(json.dumps(out, default=str))
    print(f"  sandbox log and attempts written to {path}")


def _measure(
    results: Results, group: Processes, env: dict[str, str], sandbox: object, dials_wanted: int
) -> None:
    from django.contrib.auth.models import Group

    from conferences.accounts import role_groups, roles, twilio_accounts
    from conferences.core.redis_connection import redis_client
    from conferences.dialing.submission import DialSubmission, submit_dial
    from conferences.models import DialRequest, DialStatus, TwilioAccount, User

    redis_client().flushdb()
    role_groups.sync_role_groups()
    operator = User.objects.create_user("bench-operator", password=None)
    operator.groups.add(Group.objects.get(name=roles.OPERATOR))
    account = twilio_accounts.default_account()
    TwilioAccount.objects.filter(pk=account.pk).update(calls_per_second=CPS)
    _start_workers(group, env)

    started = time.monotonic()
    for index in range(dials_wanted):
        submit_dial(
            operator=operator,
            submission=DialSubmission(
                # Distinct numbers that ring a while and then stay: conferences stay open.
                f"bench-{index // 50}",
                {"To": f"+15005552{index % 1000:03d}", "From": "+15005550006"},
            ),
        )
    submitted = time.monotonic() - started
    print(f"  submitted {dials_wanted} dials in {submitted:.1f} s; waiting for the workers")

    def settled() -> bool:
        return not DialRequest.objects.filter(
            status__in=[DialStatus.PENDING, DialStatus.PLACING]
        ).exists()

    wait_for(settled, timeout=dials_wanted / CPS * 4 + 180, interval=1.0)

    creates = [
        e
        for e in sandbox.requests()  # type: ignore[attr-defined]
        if e["method"] == "POST" and e["path"].endswith("/Participants.json")
    ]
    placed = [e for e in creates if e["status"] == 201]
    arrivals = sorted(_arrival(e) for e in placed)
    rate = _rate(arrivals)
    # While the backlog lasts: the middle 90 % of calls, without the start-up and the tail of
    # dials that wait out a retry backoff or a verification grace period.
    backlog = arrivals[len(arrivals) // 20 : len(arrivals) - len(arrivals) // 20]
    steady = _rate(backlog)
    # Over the same seconds, every create that counts against the CPS: a 5xx may have
    # become a call at Twilio, so it keeps its slot; only a 429 is known not to have. This
    # is at most 1 / (1 + DIAL_PACING_MARGIN), and calls/s is this times the 201s' share of
    # these creates (about 0.95 with 5 % 5xx): how well the pacing fills the limit.
    counted = sorted(
        _arrival(e)
        for e in creates
        if e["status"] != 429 and backlog and backlog[0] <= _arrival(e) <= backlog[-1]
    )
    counted_rate = _rate(counted)
    most_in_a_second = max(
        sum(1 for t in arrivals[i:] if (t - first).total_seconds() < 1.0)
        for i, first in enumerate(arrivals)
    )
    per_target = Counter(
        (e["path"].split("/Conferences/")[1].split("/")[0], e["params"]["To"][0]) for e in placed
    )
    duplicates = sum(count - 1 for count in per_target.values() if count > 1)
    called = {to for _, to in per_target}
    dials = list(DialRequest.objects.values("to_number", "status", "created_at", "placed_at"))
    lost = sum(
        1 for d in dials if d["to_number"] not in called and d["status"] != DialStatus.FAILED
    )
    failed = sum(1 for d in dials if d["status"] == DialStatus.FAILED)
    to_call_sid = [
        (d["placed_at"] - d["created_at"]).total_seconds() for d in dials if d["placed_at"]
    ]
    refused = Counter(e["status"] for e in creates if e["status"] != 201)
    _dump(sandbox)

    name = "pipeline"
    results.add(
        name,
        "calls/s / CPS limit, backlog (middle 90 %)",
        steady / CPS,
        ">= 0.95",
        steady / CPS >= 0.95,
    )
    results.add(name, "calls/s / CPS limit, first to last call", rate / CPS)
    results.add(
        name, "creates counted against CPS (201 + 5xx)/s / limit, backlog", counted_rate / CPS
    )
    results.add(
        name,
        "most calls started in one second",
        most_in_a_second,
        f"<= {CPS}",
        most_in_a_second <= CPS,
    )
    results.add(name, "duplicate calls (conference + To)", duplicates, "0", duplicates == 0)
    results.add(name, "dials lost", lost, "0", lost == 0)
    results.add(name, "dials failed with a reason", failed)
    results.add(name, "creates refused by faults (429/500)", sum(refused.values()))
    results.add(name, "p95 submit to CallSid", percentile(to_call_sid, 0.95), unit=" s")
    results.add(name, "p50 submit to CallSid", percentile(to_call_sid, 0.50), unit=" s")
