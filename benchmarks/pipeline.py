"""Dial throughput against the CPS limit (issues 7 and 23).

Three scenarios, each on a fresh database and sandbox, every figure counted from the
sandbox's request log (not from our own records) except the submit-to-CallSid time:
- `pipeline`: CPS 10 with faults (300 ms latency, 10 % 429, 5 % 500), 500 dials, two
  workers of concurrency 4: the pacing and the retries under trouble.
- `pipeline-cps5`: CPS 5, 300 ms latency, no faults, 100 dials: the pacing alone.
- `pipeline-cps50`: CPS 50, 300 ms latency, no faults, 1,000 dials: a high-CPS account.
  A create holds its worker process for its slot wait plus Twilio's answer, so keeping 50
  creates a second going at 300 ms needs about 50 x 0.3 = 15 busy processes; the scenario
  runs two workers of concurrency 12 and reports that as what such an account needs.

Each scenario first sends a few dials through the whole pipeline (the processes' start is
not measured), then submits its dials while the workers are held, so they drain a backlog
as after "Dial all" on an invite list. It also reports the CPU each tier spent per dial
(benchmarks/cpu.py): on a machine whose cores are all busy, that is what sets calls/s.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from benchmarks.cpu import POSTGRES, SANDBOX, CpuMeter
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

if TYPE_CHECKING:
    from conferences.models import User


@dataclass(frozen=True)
class Scenario:
    name: str
    cps: int
    dials_full: int
    dials_small: int
    faults: dict[str, object]
    workers: int
    concurrency: int
    # Calls/s over the backlog as a share of the CPS limit: with 5 % of creates answered
    # 5xx (each keeps its slot: the call may exist) the faults scenario's share is lower.
    target_share: float


SCENARIOS = (
    Scenario(
        "pipeline",
        cps=10,
        dials_full=500,
        dials_small=60,
        faults={
            "latency_ms": 300,
            "rules": [
                {"error_rate": 0.10, "error_statuses": [429]},
                {"error_rate": 0.05, "error_statuses": [500]},
            ],
        },
        workers=2,
        concurrency=4,
        target_share=0.95,
    ),
    Scenario(
        "pipeline-cps5",
        cps=5,
        dials_full=100,
        dials_small=30,
        faults={"latency_ms": 300},
        workers=2,
        concurrency=4,
        target_share=0.90,
    ),
    Scenario(
        "pipeline-cps50",
        cps=50,
        dials_full=1000,
        dials_small=200,
        faults={"latency_ms": 300},
        workers=2,
        concurrency=12,
        target_share=0.90,
    ),
)


def _arrival(entry: dict) -> datetime:
    return datetime.fromisoformat(entry["time"]) - timedelta(milliseconds=entry["duration_ms"])


def _rate(arrivals: list[datetime]) -> float:
    if len(arrivals) < 2:
        return float("nan")
    span = (arrivals[-1] - arrivals[0]).total_seconds()
    return (len(arrivals) - 1) / span if span > 0 else float("nan")


# Every process of the pipeline starts at once (workers, beat, the callbacks process, each
# importing Django and running its checks): a few seconds of both cores. A few dials first,
# through the whole pipeline and their callbacks, so the figures are those of a running
# service, not of its start; they are left out of every figure.
WARM_UP_CONFERENCE = "warm-up"
WARM_UP_DIALS = 20


def _dial(operator: User, conference: str, to: str) -> None:
    from conferences.dialing.submission import DialSubmission, submit_dial

    submit_dial(
        operator=operator,
        submission=DialSubmission(conference, {"To": to, "From": "+15005550006"}),
    )


def _warm_up(operator: User, settled: Callable[[], bool]) -> None:
    from conferences.callbacks.claims import unapplied_events

    started = time.monotonic()
    for index in range(WARM_UP_DIALS):
        _dial(operator, WARM_UP_CONFERENCE, f"+15005553{index:03d}")
    wait_for(lambda: settled() and not unapplied_events().exists(), timeout=180, interval=0.5)
    print(f"  warmed up with {WARM_UP_DIALS} dials in {time.monotonic() - started:.1f} s")


@contextmanager
def _workers_held(group: Processes) -> Iterator[None]:
    """The dial workers stopped (SIGSTOP, our own process groups only) until the block ends;
    nothing of theirs is in flight (the warm-up has settled), so nothing waits on them."""
    held = [pid for pid, label in group.labels().items() if label.startswith("worker-")]
    for pid in held:
        os.killpg(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in held:
            os.killpg(pid, signal.SIGCONT)


def _start_workers(group: Processes, env: dict[str, str], scenario: Scenario) -> None:
    # The scenario's dial workers, and the process that applies callbacks beside them, as
    # production runs it (Procfile `callbacks`).
    group.start("callbacks", [sys.executable, "manage.py", "apply_callbacks"], env)
    for index in range(scenario.workers):
        name, queue, concurrency = chr(ord("a") + index), "bench", scenario.concurrency
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
    for scenario in SCENARIOS:
        _run_scenario(results, scenario)


def _run_scenario(results: Results, scenario: Scenario) -> None:
    from twilio_sandbox import Sandbox
    from twilio_sandbox.faults import Faults

    dials_wanted = scenario.dials_full if scale() == "full" else scenario.dials_small
    print(
        f"{scenario.name}: {dials_wanted} dials, CPS {scenario.cps}, faults {scenario.faults}, "
        f"{scenario.workers} workers x {scenario.concurrency}"
    )
    fresh_database()
    faults = Faults.from_json(scenario.faults)
    sandbox = Sandbox(host="127.0.0.1", port=0, speed=20.0, seed=11, faults=faults).start()
    web_port = free_port()
    env = bench_env(
        PUBLIC_BASE_URL=f"http://127.0.0.1:{web_port}",
        TWILIO_API_BASE_URL=sandbox.url,
        TWILIO_CPS=str(scenario.cps),
        TWILIO_HTTP_TIMEOUT_SECONDS="5",
        DIAL_VERIFY_GRACE_SECONDS="2",
        DIAL_RETRY_BASE_SECONDS="0.5",
        DIAL_RETRY_MAX_SECONDS="8",
        DIAL_MAX_ATTEMPTS="10",
    )
    try:
        with processes(scenario.name) as group:
            gunicorn(group, "web", web_port, env, workers=3)
            setup_django(env)
            _follow_this_scenario(env)
            _measure(results, group, env, sandbox, scenario, dials_wanted)
    finally:
        sandbox.stop()


# The tiers a deployment sizes, from the processes the scenario started.
TIERS = {
    "dial workers and beat": ("worker-", "beat"),
    "receiver and callbacks process": ("web", "callbacks"),
    "PostgreSQL": (POSTGRES,),
}


def _report_cpu(results: Results, name: str, meter: CpuMeter, dials: int, cps: int) -> None:
    ours = 0.0
    for tier, labels in TIERS.items():
        used = sum(v for label, v in meter.used.items() if label.startswith(labels))
        ours += used
        results.add(name, f"CPU per dial: {tier}", used / dials * 1000, unit=" ms")
    results.add(
        name,
        "CPU per dial: the sandbox (Twilio's side)",
        meter.used[SANDBOX] / dials * 1000,
        unit=" ms",
    )
    results.add(name, f"cores busy while dialing (of {os.cpu_count()})", meter.cores_busy)
    # What 0.9 x CPS would take at the CPU per dial measured here, without the sandbox.
    results.add(name, f"cores the app needs for 0.9 x CPS {cps}", ours / dials * 0.9 * cps)


def _follow_this_scenario(env: dict[str, str]) -> None:
    """Django reads its settings once per process, at the first scenario's setup: the URLs
    of this one's web server and sandbox are set here, or the dials submitted from this
    process would ask for their callbacks at the first scenario's (stopped) web server."""
    from django.conf import settings

    settings.PUBLIC_BASE_URL = env["PUBLIC_BASE_URL"]
    settings.TWILIO_API_BASE_URL = env["TWILIO_API_BASE_URL"]


def _dump(sandbox: object, name: str) -> None:
    """The sandbox's request log and our attempts, for looking at where the time went."""
    from conferences.models import DialAttempt

    attempts = list(
        DialAttempt.objects.values(
            "dial_id", "number", "started_at", "outcome", "decided_by", "http_status", "latency_ms"
        )
    )
    out = {"requests": sandbox.requests(), "attempts": attempts}  # type: ignore[attr-defined]
    path = LOG_DIR / f"{name}-data.json"
    path.write_text(json.dumps(out, default=str))
    print(f"  sandbox log and attempts written to {path}")


def _measure(
    results: Results,
    group: Processes,
    env: dict[str, str],
    sandbox: object,
    scenario: Scenario,
    dials_wanted: int,
) -> None:
    from django.contrib.auth.models import Group

    from conferences.accounts import role_groups, roles, twilio_accounts
    from conferences.core.redis_connection import redis_client
    from conferences.models import CallbackEvent, DialRequest, DialStatus, TwilioAccount, User

    def settled() -> bool:
        return not DialRequest.objects.filter(
            status__in=[DialStatus.PENDING, DialStatus.PLACING]
        ).exists()

    redis_client().flushdb()
    role_groups.sync_role_groups()
    operator = User.objects.create_user("bench-operator", password=None)
    operator.groups.add(Group.objects.get(name=roles.OPERATOR))
    account = twilio_accounts.default_account()
    cps = scenario.cps
    TwilioAccount.objects.filter(pk=account.pk).update(calls_per_second=cps)
    _start_workers(group, env, scenario)
    _warm_up(operator, settled)

    # The backlog is there at once, as when an invite list of 1,000 is dialed: submitted
    # while the (warm) workers are held, so what is measured is how fast the pipeline
    # drains it, not how fast this one process can submit (about 25 dials/s, sharing its
    # interpreter with the sandbox).
    with _workers_held(group):
        started = time.monotonic()
        for index in range(dials_wanted):
            # Distinct numbers that ring a while and then stay: conferences stay open.
            _dial(operator, f"bench-{index // 50}", f"+15005552{index % 1000:03d}")
        submitted = time.monotonic() - started
    print(f"  submitted {dials_wanted} dials in {submitted:.1f} s; the workers drain them")
    meter = CpuMeter(group)
    meter.start()
    wait_for(settled, timeout=dials_wanted / cps * 4 + 180, interval=1.0)
    meter.stop()

    creates = [
        e
        for e in sandbox.requests()  # type: ignore[attr-defined]
        if e["method"] == "POST"
        and e["path"].endswith("/Participants.json")
        and f"/Conferences/{WARM_UP_CONFERENCE}/" not in e["path"]
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
    dials = list(
        DialRequest.objects.exclude(conference__friendly_name=WARM_UP_CONFERENCE).values(
            "to_number", "status", "created_at", "placed_at"
        )
    )
    lost = sum(
        1 for d in dials if d["to_number"] not in called and d["status"] != DialStatus.FAILED
    )
    failed = sum(1 for d in dials if d["status"] == DialStatus.FAILED)
    to_call_sid = [
        (d["placed_at"] - d["created_at"]).total_seconds() for d in dials if d["placed_at"]
    ]
    refused = Counter(e["status"] for e in creates if e["status"] != 201)
    name = scenario.name
    _dump(sandbox, name)

    results.add(
        name,
        "calls/s / CPS limit, backlog (middle 90 %)",
        steady / cps,
        f">= {scenario.target_share:.2f}",
        steady / cps >= scenario.target_share,
    )
    results.add(name, "calls/s / CPS limit, first to last call", rate / cps)
    results.add(
        name, "creates counted against CPS (201 + 5xx)/s / limit, backlog", counted_rate / cps
    )
    results.add(
        name,
        "most calls started in one second",
        most_in_a_second,
        f"<= {cps}",
        most_in_a_second <= cps,
    )
    results.add(
        name,
        "worker processes (workers x concurrency)",
        scenario.workers * scenario.concurrency,
    )
    _report_cpu(results, name, meter, dials_wanted, cps)
    # Every call sends `initiated` and `ringing` first (a saturated machine stores some of
    # them after the last dial settles): under one callback stored per dial means they went
    # somewhere else, and the figures above were measured without the receiver's and the
    # applier's share of the machine.
    stored = CallbackEvent.objects.exclude(
        conference__friendly_name=WARM_UP_CONFERENCE
    ).count() / max(1, len(dials))
    results.add(name, "callbacks stored per dial", stored, ">= 1", stored >= 1)
    results.add(name, "duplicate calls (conference + To)", duplicates, "0", duplicates == 0)
    results.add(name, "dials lost", lost, "0", lost == 0)
    results.add(name, "dials failed with a reason", failed)
    results.add(name, "creates refused by faults (429/500)", sum(refused.values()))
    results.add(name, "p95 submit to CallSid", percentile(to_call_sid, 0.95), unit=" s")
    results.add(name, "p50 submit to CallSid", percentile(to_call_sid, 0.50), unit=" s")
