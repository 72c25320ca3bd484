"""What survives a fault (issues 19 and 24): every scenario on a stack of its own.

Each scenario starts the whole production-like stack afresh (its own Redis on a free port,
never the shared one; a fresh database; gunicorn for the pages and another for the webhook
receiver, as a deployment that scales them apart would; two Celery workers of concurrency 4;
the callbacks process; beat; the sandbox in this process, queueing calls beyond CPS 5 like
Twilio), submits its dials through the real dial form over HTTP, does its damage, and waits
until everything has settled: every dial final and equal to what the sandbox says happened
to its call, or failed with a reason. The truth is the sandbox's own state, never our
records. It prints one table, a row per scenario.

BENCH_SCALE=small runs 20 dials per scenario (40 for "dials at once"); FAULT_SCENARIOS="hang,
Redis" runs only the scenarios whose names contain one of these words.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg
import redis
import requests

from benchmarks.harness import (
    BASE,
    LOG_DIR,
    PG,
    Processes,
    Results,
    bench_env,
    free_port,
    fresh_database,
    gunicorn,
    processes,
    scale,
    setup_django,
    wait_for,
)

CPS = 5
DATABASE = "dashboard_bench_faults"
SETTLE_TARGET_SECONDS = 120.0
GIVE_UP_SECONDS = 420.0
SANDBOX_SPEED = 10.0
OPERATOR, PASSWORD = "faults-operator", "faults-bench-password-1"
CALLER = "+15005550006"
# Numbers with one fixed fate, dialed more than once per conference on purpose: the label
# tells their dials apart, so only the label counts duplicates for them.
SHARED_FATES = frozenset({"+15005550010", "+15005550011", "+15005550012"})
FINAL = frozenset({"completed", "busy", "no-answer", "canceled", "failed"})
# reconcile.API_REQUESTS_KEY, read from the scenario's own Redis (this process's Django
# settings keep the first scenario's REDIS_URL).
RECONCILE_REQUESTS_KEY = "reconcile:api-requests"


@dataclass
class Stack:
    """The processes of one scenario, each restartable alone, stopped by PID at the end."""

    group: Processes
    env: dict[str, str]
    redis_port: int
    web_port: int
    receiver_port: int
    # Seconds after the first submission the damage starts: while dials are still placed.
    fault_at: float = 5.0
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, label: str) -> None:
        if label in ("web", "receiver"):
            self._start_gunicorn(label)
            return
        argv = {
            "redis": [
                "redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no",
            ],
            "callbacks": [sys.executable, "manage.py", "apply_callbacks"],
            "beat": [
                sys.executable, "-m", "celery", "-A", "dashboard", "beat", "--loglevel",
                "WARNING", "--schedule", str(LOG_DIR / f"faults-beat-{self.redis_port}"),
            ],
        }.get(label) or _worker_argv(label)  # fmt: skip
        self.children[label] = self.group.start(label, argv, self.env)
        if label == "redis":
            wait_for(lambda: _redis_answers(self.redis_port), timeout=20)

    def kill(self, label: str) -> None:
        child = self.children.pop(label)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=15)

    def _start_gunicorn(self, label: str) -> None:
        before = set(map(id, self.group.children))
        port = self.web_port if label == "web" else self.receiver_port
        gunicorn(self.group, label, port, self.env, workers=2)
        (self.children[label],) = [c for c in self.group.children if id(c) not in before]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"


def _worker_argv(label: str) -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", "dashboard", "worker", "--queues", "bench",
        "--concurrency", "4", "--hostname", f"faults-{label}@%h", "--loglevel", "WARNING",
        "--without-mingle", "--without-gossip",
    ]  # fmt: skip


def _redis_answers(port: int) -> bool:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        result = subprocess.run(
            ["redis-cli", "-p", str(port), "ping"], capture_output=True, timeout=2, check=False
        )
        return result.stdout.strip() == b"PONG"
    return False


# --- The damage each scenario does -------------------------------------------------------


def _nothing(stack: Stack) -> None:
    del stack


def _outage(process: str, seconds: float) -> Callable[[Stack], None]:
    """A fault: `process` killed at the fault time and started again `seconds` later (Redis
    keeps nothing on disk, so it comes back empty)."""

    def damage(stack: Stack) -> None:
        time.sleep(stack.fault_at)
        stack.kill(process)
        time.sleep(seconds)
        stack.start(process)

    return damage


def _terminate_database_connections(stack: Stack) -> None:
    time.sleep(stack.fault_at)
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (DATABASE,),
        )


def _hangs(rate: float) -> dict[str, Any]:
    return {"rules": [{"hang_after_create_seconds": 20, "hang_rate": rate}]}


@dataclass(frozen=True)
class Scenario:
    name: str
    dials: int
    faults: dict[str, Any] = field(default_factory=dict)
    damage: Callable[[Stack], None] = _nothing


def scenarios() -> list[Scenario]:
    dials = 100 if scale() == "full" else 20
    at_once = 500 if scale() == "full" else 40
    return [
        Scenario("baseline", dials),
        Scenario("worker SIGKILL, back after 10 s", dials, damage=_outage("worker-a", 10)),
        Scenario("Redis stopped 20 s, back empty", dials, damage=_outage("redis", 20)),
        Scenario(
            "API: 10 % 429, 5 % 500, 5 % hang, 300 ms",
            dials,
            {
                "latency_ms": 300,
                "rules": [
                    {"error_rate": 0.10, "error_statuses": [429]},
                    {"error_rate": 0.05, "error_statuses": [500]},
                    {"hang_after_create_seconds": 20, "hang_rate": 0.05},
                ],
            },
        ),
        Scenario(
            "callbacks: dup, reorder, 5 % drop, delay, receiver down 15 s",
            dials,
            {
                "callback_duplicate_rate": 0.10,
                "callback_reorder_rate": 0.10,
                "callback_drop_rate": 0.05,
                "callback_delay_ms": 500,
            },
            _outage("receiver", 15),
        ),
        Scenario("callbacks process SIGKILL", dials, damage=_outage("callbacks", 10)),
        Scenario(
            "PostgreSQL connections terminated", dials, damage=_terminate_database_connections
        ),
        Scenario("hang after create, 30 %", dials, _hangs(0.30)),
        Scenario("hang after create, 50 %", dials, _hangs(0.50)),
        Scenario(f"{at_once} dials at once", at_once),
    ]


# --- Running one -----------------------------------------------------------------------


def _number(index: int) -> tuple[str, str]:
    """A To with a fate that ends (so the truth is final), and its expected kind."""
    kind = index % 10
    if kind >= 7:
        return sorted(SHARED_FATES)[kind - 7], ("busy", "no-answer", "failed")[kind - 7]
    # Answered, then hangs up after 20 to 69 call seconds (2 to 7 s at the sandbox's speed).
    return f"+150055510{20 + index % 50:02d}", "completed"


def _fresh_database(env: dict[str, str]) -> None:
    """The scenario's own migrated database, with the operator who dials at CPS 5."""
    fresh_database(DATABASE, env)
    script = (
        "from django.contrib.auth.models import Group\n"
        "from conferences.accounts import role_groups, roles, twilio_accounts\n"
        "from conferences.models import TwilioAccount, User\n"
        "role_groups.sync_role_groups()\n"
        f"user = User.objects.create_user({OPERATOR!r}, password={PASSWORD!r})\n"
        "user.groups.add(Group.objects.get(name=roles.OPERATOR))\n"
        "account = twilio_accounts.default_account()\n"
        f"TwilioAccount.objects.filter(pk=account.pk).update(calls_per_second={CPS})\n"
    )
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script], cwd=BASE, env=env, check=True
    )


def _signed_in(url: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{url}/accounts/login/", timeout=10).raise_for_status()
    token = session.cookies.get("csrftoken")
    if not token:
        raise SystemExit("faults: the sign-in page set no CSRF cookie")
    answer = session.post(
        f"{url}/accounts/login/",
        data={"username": OPERATOR, "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{url}/accounts/login/"},
        timeout=10,
    )
    if "sessionid" not in session.cookies:
        raise SystemExit(f"faults: sign-in refused ({answer.status_code})")
    return session


def _submit(session: requests.Session, url: str, index: int) -> str:
    """Submit one dial as an operator would; '' when the form took it, else why not."""
    to, _ = _number(index)
    try:
        answer = session.post(
            f"{url}/dial/",
            data={
                "csrfmiddlewaretoken": session.cookies["csrftoken"],
                "conference": f"faults-{index // 25}",
                "to": to,
                "from": CALLER,
                "label": f"x-{index:04d}",
                "timeout": "5",
            },
            headers={"Referer": f"{url}/"},
            timeout=30,
            allow_redirects=False,  # a taken dial redirects to the dial page
        )
    except requests.RequestException as error:
        return f"no answer: {type(error).__name__}"
    if answer.status_code in (301, 302, 303):
        return ""
    errors = re.findall(r'class="[^"]*error[^"]*"[^>]*>([^<]+)<', answer.text)
    return f"HTTP {answer.status_code}: {'; '.join(e.strip() for e in errors[:2]) or 'refused'}"


def _truth(sandbox: Any) -> dict[tuple[str, str], list[Any]]:
    """The sandbox's calls by (conference friendly name, label), oldest first."""
    store = sandbox.store
    with store.lock:
        names = {sid: conference.friendly_name for sid, conference in store.conferences.items()}
        calls: dict[tuple[str, str], list[Any]] = {}
        for call in sorted(store.calls.values(), key=lambda each: each.date_created):
            key = (names.get(call.conference_sid, "?"), call.request.label or "")
            calls.setdefault(key, []).append(call)
        return calls


@dataclass
class Row:
    """One scenario's line of the table."""

    scenario: str
    submitted: int = 0
    refused: int = 0
    calls: int = 0
    duplicate_targets: int = 0
    duplicate_labels: int = 0
    lost: int = 0
    wrong: int = 0
    callbacks_sent: int = 0
    callbacks_delivered: int = 0
    callbacks_stored: int = 0
    settle: float | None = None  # None: never settled within GIVE_UP_SECONDS
    reconcile_requests: int = 0
    busiest_second: int = 0

    @property
    def met(self) -> bool:
        return (
            self.duplicate_targets + self.duplicate_labels + self.lost + self.wrong == 0
            and self.settle is not None
            and self.settle <= SETTLE_TARGET_SECONDS
        )

    def cells(self) -> list[str]:
        per_dial = self.reconcile_requests / self.submitted if self.submitted else 0.0
        return [
            self.scenario,
            f"{self.submitted}" + (f" ({self.refused} refused)" if self.refused else ""),
            str(self.calls),
            f"{self.duplicate_targets} / {self.duplicate_labels}",
            str(self.lost),
            str(self.wrong),
            f"{self.callbacks_sent} / {self.callbacks_delivered} / {self.callbacks_stored}",
            f"{self.settle:.0f}" if self.settle is not None else f"> {GIVE_UP_SECONDS:.0f}",
            f"{per_dial:.2f}",
            str(self.busiest_second),
            "met" if self.met else "SHORT",
        ]


HEADERS = [
    "scenario",
    "submitted",
    "calls created",
    "duplicates (conf+To / label)",
    "lost",
    "wrong final status",
    "callbacks sent / delivered / stored",
    "settled after fault (s)",
    "reconcile API requests / dial",
    "busiest second of creates",
    "targets",
]


def _table(rows: list[Row]) -> str:
    lines = [HEADERS, *(row.cells() for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADERS))]
    text = [" | ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)) for line in lines]
    text.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(text)


def run(results: Results) -> None:
    wanted = [part.strip() for part in os.environ.get("FAULT_SCENARIOS", "").split(",")]
    # As a deployment does: gunicorn with DEBUG off serves hashed static files from a manifest.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
        cwd=BASE,
        env=bench_env(),
        check=True,
    )
    rows = []
    for scenario in scenarios():
        if any(wanted) and not any(part and part in scenario.name for part in wanted):
            continue
        print(f"faults: {scenario.name} ({scenario.dials} dials, CPS {CPS})", flush=True)
        row = _run_one(scenario)
        rows.append(row)
        print(_table([row]), flush=True)
        name = f"faults: {scenario.name}"
        problems = row.duplicate_targets + row.duplicate_labels + row.lost + row.wrong
        results.add(name, "duplicates + lost + wrong final status", problems, "0", problems == 0)
        results.add(
            name,
            "settled after the fault",
            row.settle if row.settle is not None else GIVE_UP_SECONDS,
            f"<= {SETTLE_TARGET_SECONDS:.0f} s",
            row.settle is not None and row.settle <= SETTLE_TARGET_SECONDS,
            unit=" s",
        )
    print(f"\nfaults ({scale()} scale, CPS {CPS}, sandbox speed {SANDBOX_SPEED:.0f}x):\n")
    print(_table(rows), flush=True)


def _run_one(scenario: Scenario) -> Row:
    from twilio_sandbox import Sandbox
    from twilio_sandbox.faults import Faults

    # The sandbox queues calls beyond CPS, as Twilio does for the account's limit.
    faults = Faults.from_json({"cps": CPS, **scenario.faults})
    sandbox = Sandbox(host="127.0.0.1", port=0, speed=SANDBOX_SPEED, seed=19, faults=faults)
    _keep_the_whole_journal(sandbox)
    sandbox.start()
    redis_port, web_port, receiver_port = free_port(), free_port(), free_port()
    env = bench_env(
        DATABASE_URL=f"{PG}/{DATABASE}",
        REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{receiver_port}",
        TWILIO_API_BASE_URL=sandbox.url,
        TWILIO_CPS=str(CPS),
        TWILIO_HTTP_TIMEOUT_SECONDS="5",
    )
    try:
        _fresh_database(env)
        slug = re.sub(r"[^a-z0-9]+", "-", scenario.name.lower()).strip("-")
        with processes(f"faults-{slug}") as group:
            # Placing takes dials / CPS seconds: strike in its first quarter, 5 s at most.
            fault_at = min(5.0, scenario.dials / CPS / 4)
            stack = Stack(group, env, redis_port, web_port, receiver_port, fault_at)
            stack.start("redis")
            for label in ("web", "receiver", "worker-a", "worker-b", "callbacks", "beat"):
                stack.start(label)
            setup_django(env)
            _wait_for_workers(stack, count=2)
            return _measure(scenario, stack, sandbox)
    finally:
        sandbox.stop()
        _close_django_connections()


def _wait_for_workers(stack: Stack, *, count: int) -> None:
    """Until both workers beat: a fault timed from the first dial must strike while dials
    are placed, not while the workers are still starting."""
    from conferences.operations.heartbeat import read_heartbeats

    client = redis.Redis(port=stack.redis_port, socket_timeout=2)
    wait_for(lambda: len(read_heartbeats(client)) >= count, timeout=180, interval=0.5)


def _keep_the_whole_journal(sandbox: Any) -> None:
    """The sandbox journals the last 5,000 requests and callbacks; 500 dials send more, and
    every one must be counted (the sandbox offers no setting for it)."""
    journal = sandbox.journal
    journal._requests = deque(maxlen=200_000)
    journal._callbacks = deque(maxlen=200_000)


def _close_django_connections() -> None:
    if "django.db" in sys.modules:
        from django.db import connections

        connections.close_all()


def _reconcile_requests(stack: Stack) -> int:
    with contextlib.suppress(redis.RedisError):
        value = redis.Redis(port=stack.redis_port, socket_timeout=2).get(RECONCILE_REQUESTS_KEY)
        return int(value or 0)
    return 0


def _busiest_second(sandbox: Any) -> int:
    """Most calls Twilio started in any one second (creates answered 201, by arrival)."""
    arrivals = sorted(
        datetime.fromisoformat(e["time"]) - timedelta(milliseconds=e["duration_ms"])
        for e in sandbox.requests()
        if e["method"] == "POST" and e["path"].endswith("/Participants.json") and e["status"] == 201
    )
    return max(
        (
            sum(1 for t in arrivals[i:] if (t - first).total_seconds() < 1.0)
            for i, first in enumerate(arrivals)
        ),
        default=0,
    )


def _measure(scenario: Scenario, stack: Stack, sandbox: Any) -> Row:
    from conferences.callbacks import applier as callback_applier
    from conferences.models import CallbackEvent, CallbackKind, DialRequest

    session = _signed_in(stack.url)
    damage = _in_background(lambda: scenario.damage(stack))
    refusals = Counter(
        reason for index in range(scenario.dials) if (reason := _submit(session, stack.url, index))
    )
    for reason, count in refusals.most_common(3):
        print(f"    refused at submit ({count}x): {reason[:160]}")
    damage.join()
    fault_ended = time.monotonic()

    def wrong() -> list[str]:
        truth = _truth(sandbox)
        problems = []
        for dial in DialRequest.objects.select_related("conference"):
            calls = truth.get((dial.conference.friendly_name, dial.label), [])
            if not calls:
                if dial.status != "failed":
                    problems.append(f"{dial.label}: {dial.status}, no call at Twilio")
                continue
            true_status = str(calls[-1].status)
            if true_status not in FINAL or dial.status != true_status:
                problems.append(f"{dial.label}: {dial.status}, Twilio says {true_status}")
        return problems

    settled_at = None
    deadline = fault_ended + GIVE_UP_SECONDS
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):  # the database may be mid-fault; ask again
            # Everything: no callback still on its way, every stored one applied, and every
            # dial's status Twilio's.
            if (
                not sandbox.callbacks(status="pending")
                and not callback_applier.unapplied_events().exists()
                and not wrong()
            ):
                settled_at = time.monotonic()
                break
        time.sleep(2)

    truth = _truth(sandbox)
    callbacks = sandbox.callbacks()
    dials = list(DialRequest.objects.select_related("conference"))
    calls = [call for found in truth.values() for call in found]
    by_target = Counter((key[0], call.request.to) for key, found in truth.items() for call in found)
    problems = wrong()
    for line in problems[:10]:
        print(f"    {line}")
    _print_time_to_truth()
    return Row(
        scenario=scenario.name,
        submitted=len(dials),
        refused=sum(refusals.values()),
        calls=len(calls),
        duplicate_targets=sum(
            count - 1
            for (_, to), count in by_target.items()
            if count > 1 and to not in SHARED_FATES
        ),
        duplicate_labels=sum(len(found) - 1 for found in truth.values() if len(found) > 1),
        lost=sum(
            1
            for dial in dials
            if not truth.get((dial.conference.friendly_name, dial.label))
            and dial.status != "failed"
        ),
        wrong=len(problems),
        # Sent: every delivery tried (dropped ones never left the sandbox); delivered: those
        # answered 2xx; stored: once each (a duplicate is delivered but never stored twice).
        callbacks_sent=sum(1 for c in callbacks if c["status"] in ("delivered", "failed")),
        callbacks_delivered=sum(1 for c in callbacks if c["status"] == "delivered"),
        callbacks_stored=CallbackEvent.objects.exclude(kind=CallbackKind.RECONCILED).count(),
        settle=None if settled_at is None else settled_at - fault_ended,
        reconcile_requests=_reconcile_requests(stack),
        busiest_second=_busiest_second(sandbox),
    )


def _print_time_to_truth() -> None:
    """For each event reconciliation learned: seconds from when it happened at Twilio to when
    the app knew it (the fact's Timestamp to its storing), worst and median."""
    from conferences.models import CallbackEvent, CallbackKind

    delays: dict[str, list[float]] = {}
    learned = CallbackEvent.objects.filter(
        kind=CallbackKind.RECONCILED, twilio_timestamp__isnull=False
    )
    for event, happened, stored in learned.values_list("event", "twilio_timestamp", "received_at"):
        if happened is not None:  # filtered out above; the type cannot know
            delays.setdefault(event, []).append((stored - happened).total_seconds())
    for event, seconds in sorted(delays.items()):
        seconds.sort()
        print(
            f"    reconciled {event}: {len(seconds)}x, seconds to truth max {seconds[-1]:.0f}, "
            f"median {seconds[len(seconds) // 2]:.0f}"
        )


def _in_background(work: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=work, name="fault", daemon=True)
    thread.start()
    return thread
