"""Webhook ingest under load, and applying what was stored (issues 8, 19 and 23).

Three gunicorn variants with the same settings, wrk with one thread, median of 3 runs:
signed callbacks through the real receiver; a bare view that only answers (with and
without the middleware); a bare view that does the receiver's same durable INSERT with no
middleware and no signature. 5 % of the callbacks are forged and must all get 403; the
stored events must equal the 2xx answers. Then one `callbacks` process with its default
settings applies the whole backlog (applied/s against stored/s), and signed callbacks at
half the measured capacity for 30 s give the time from each 2xx to its event applied.
"""

from __future__ import annotations

import http.client
import itertools
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

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

LUA = Path(__file__).with_name("webhooks.lua")
CONNECTIONS = 8
STATUSES = ("initiated", "ringing", "in-progress", "completed")
SIGNATURE = "X-Twilio-Signature"


def _signed_requests(
    path: Path,
    *,
    count: int,
    run: int,
    base_url: str,
    dial_ids: list[int],
    token: str,
    account_sid: str,
) -> None:
    from conferences.gateway.signatures import twilio_signature

    with path.open("w") as out:
        for index in range(count):
            call = index // 4
            status = STATUSES[index % 4]
            dial_id = dial_ids[call % len(dial_ids)]
            params = [
                ("AccountSid", account_sid),
                ("ApiVersion", "2010-04-01"),
                ("CallSid", f"CA{run:04x}{call:028x}"),
                ("CallStatus", status),
                ("CallbackSource", "call-progress-events"),
                ("Direction", "outbound-api"),
                ("From", "+15005550006"),
                ("SequenceNumber", str(index % 4)),
                ("Timestamp", "Tue, 24 Nov 2026 08:00:00 +0000"),
                ("To", f"+1415555{call % 10000:04d}"),
            ]
            url_path = f"/webhooks/twilio/call-status/{dial_id}"
            signature = twilio_signature(token, base_url + url_path, params)
            if index % 20 == 19:  # 5 % forged
                signature = "FORGED" + signature[6:]
            out.write(f"{url_path}\t{signature}\t{urlencode(params)}\n")


def _wrk(port: int, requests_file: Path, seconds: int, *, mode: str = "") -> dict[str, float]:
    """wrk against `port`: the signed callbacks as they are, or with `mode` "bare" (the
    do-nothing view) or "store" (the bare insert view)."""
    argv = [
        "wrk",
        "-t1",
        f"-c{CONNECTIONS}",
        f"-d{seconds}s",
        "-s",
        str(LUA),
        f"http://127.0.0.1:{port}",
        "--",
        str(requests_file),
    ]
    if mode:
        argv.append(mode)
    output = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    figures: dict[str, float] = {}
    for key in ("SENT", "FORGED", "WRAPPED", "RPS", "P50_US", "P99_US"):
        match = re.search(rf"^{key} ([\d.]+)", output, re.M)
        figures[key] = float(match.group(1)) if match else float("nan")
    for status, count in re.findall(r"^STATUS (\d+) (\d+)", output, re.M):
        figures[f"status_{status}"] = float(count)
    return figures


@dataclass
class _Runs:
    """Per run: requests/s of each variant, and the signed run's latencies and checks."""

    rps: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    p99_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    stored_per_second: list[float] = field(default_factory=list)
    lost_or_extra: float = 0.0
    unrefused: int = 0

    def median(self, variant: str) -> float:
        return statistics.median(self.rps[variant])

    def cost_ms(self, variant: str) -> float:
        """Server time per request (ms of the whole web tier): 1000 / requests per second."""
        return 1000 / self.median(variant)


def run(results: Results) -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (make bench does it as root)")
    seconds = 10 if scale() == "full" else 3
    runs = 3
    print(
        f"webhooks: {runs} runs of {seconds} s each: signed callbacks, a bare view, and a bare "
        "insert view without middleware; then applying, and callback-to-applied at half load"
    )
    fresh_database()
    port, bare_port = free_port(), free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = bench_env(PUBLIC_BASE_URL=base_url, DJANGO_SETTINGS_MODULE="benchmarks.bench_settings")
    with processes("webhooks") as group:
        gunicorn(group, "web", port, env, workers=3)
        bare_env = {**env, "DJANGO_SETTINGS_MODULE": "benchmarks.bare_settings"}
        gunicorn(group, "web-bare", bare_port, bare_env, workers=3)
        setup_django(env)
        from django.conf import settings

        from conferences.accounts import twilio_accounts
        from conferences.models import CallbackEvent, Conference, DialRequest, User

        account = twilio_accounts.default_account()
        operator = User.objects.create_user("bench-webhooks", password=None)
        conference = Conference.objects.create(account=account, friendly_name="bench")
        dial_ids = [
            DialRequest.objects.create(
                account=account,
                conference=conference,
                operator=operator,
                to_number=f"+1415555{i:04d}",
                from_number="+15005550006",
                label=f"bench-{i}",
            ).pk
            for i in range(100)
        ]
        signing = _Signing(base_url, dial_ids, settings.TWILIO_AUTH_TOKEN, account.account_sid)
        measured = _Runs()
        for run_number in range(runs):
            _one_run(measured, signing, run_number, seconds, port, bare_port, CallbackEvent)
        applied_per_second, left_unapplied = _drain(group, env)
        latency = _callback_to_applied(signing, base_url, rate=measured.median("signed") / 2)
    _report(results, measured, applied_per_second, left_unapplied, latency)


@dataclass(frozen=True)
class _Signing:
    base_url: str
    dial_ids: list[int]
    token: str
    account_sid: str

    def write(self, path: Path, *, count: int, run: int) -> None:
        _signed_requests(
            path,
            count=count,
            run=run,
            base_url=self.base_url,
            dial_ids=self.dial_ids,
            token=self.token,
            account_sid=self.account_sid,
        )


def _one_run(
    measured: _Runs,
    signing: _Signing,
    run_number: int,
    seconds: int,
    port: int,
    bare_port: int,
    callback_events: Any,
) -> None:
    count = 40_000 if scale() == "full" else 8_000
    requests_file = LOG_DIR / f"webhooks-{run_number}.tsv"
    signing.write(requests_file, count=count, run=run_number)
    # The bare insert stores events of its own (other CallSids): the signed run's events
    # must all be new, or its stored count would not match its 2xx answers.
    store_file = LOG_DIR / f"webhooks-store-{run_number}.tsv"
    signing.write(store_file, count=count, run=100 + run_number)
    variants = {
        "bare": _wrk(port, requests_file, seconds, mode="bare"),
        "bare, no middleware": _wrk(bare_port, requests_file, seconds, mode="bare"),
        "insert, no middleware": _wrk(bare_port, store_file, seconds, mode="store"),
    }
    before = callback_events.objects.count()
    signed = variants["signed"] = _wrk(port, requests_file, seconds)
    stored = callback_events.objects.count() - before
    for variant, figures in variants.items():
        measured.rps[variant].append(figures["RPS"])
        measured.p99_ms[variant].append(figures["P99_US"] / 1000)
    answered_2xx = sum(v for k, v in signed.items() if k.startswith("status_2"))
    answered = sum(v for k, v in signed.items() if k.startswith("status_"))
    # wrk stops with up to one request per connection in flight: the server may have
    # stored those without wrk seeing the answer.
    in_flight = signed["SENT"] - answered
    if signed["WRAPPED"]:
        print("  warning: the request file wrapped; duplicates were sent", file=sys.stderr)
    lost = max(0.0, answered_2xx - stored)
    extra = max(0.0, stored - answered_2xx - in_flight)
    measured.lost_or_extra += lost + extra
    measured.unrefused += int(signed["FORGED"] - signed.get("status_403", 0) - in_flight > 0)
    measured.stored_per_second.append(stored / seconds)
    print(
        f"  run {run_number + 1}: signed {signed['RPS']:.0f} req/s (stored {stored} of "
        f"{answered_2xx:.0f} 2xx, {signed['FORGED']:.0f} forged, "
        f"{signed.get('status_403', 0):.0f} refused); bare {variants['bare']['RPS']:.0f}, "
        f"bare without middleware {variants['bare, no middleware']['RPS']:.0f}, "
        f"insert without middleware {variants['insert, no middleware']['RPS']:.0f} req/s"
    )


def _report(
    results: Results,
    measured: _Runs,
    applied_per_second: float,
    left_unapplied: int,
    latency: _Latency,
) -> None:
    name = "webhooks"
    ratio = measured.median("signed") / measured.median("bare")
    results.add(name, "signed callbacks/s / bare view req/s", ratio, ">= 0.70", ratio >= 0.70)
    durable = measured.median("signed") / measured.median("insert, no middleware")
    results.add(
        name, "signed callbacks/s / bare insert view req/s", durable, ">= 0.80", durable >= 0.80
    )
    # Where a signed callback's time goes, as server time per request (the web tier's
    # capacity spent on one request, from the medians above).
    middleware = measured.cost_ms("bare") - measured.cost_ms("bare, no middleware")
    insert = measured.cost_ms("insert, no middleware") - measured.cost_ms("bare, no middleware")
    rest = measured.cost_ms("signed") - measured.cost_ms("bare") - insert
    results.add(
        name,
        "per request: Django and the WSGI server",
        measured.cost_ms("bare, no middleware"),
        unit=" ms",
    )
    results.add(name, "per request: middleware", middleware, unit=" ms")
    results.add(name, "per request: the durable insert", insert, unit=" ms")
    results.add(name, "per request: signature check and parsing", rest, unit=" ms")
    results.add(
        name,
        "p99 / bare view p99",
        statistics.median(measured.p99_ms["signed"]) / statistics.median(measured.p99_ms["bare"]),
        unit="x",
    )
    results.add(
        name, "p99 signed callback", statistics.median(measured.p99_ms["signed"]), unit=" ms"
    )
    results.add(name, "p99 bare view", statistics.median(measured.p99_ms["bare"]), unit=" ms")
    results.add(
        name, "forged callbacks not refused", measured.unrefused, "0", measured.unrefused == 0
    )
    results.add(
        name,
        "events lost or extra vs 2xx answers",
        measured.lost_or_extra,
        "0",
        measured.lost_or_extra == 0,
    )
    stored_rate = statistics.median(measured.stored_per_second)
    results.add(name, "signed callbacks stored/s", stored_rate, unit="/s")
    results.add(name, "events applied/s by one callbacks process", applied_per_second, unit="/s")
    keeps_up = applied_per_second / stored_rate
    results.add(name, "applied/s / stored/s", keeps_up, ">= 1.00", keeps_up >= 1.0)
    results.add(name, "stored events left unapplied", left_unapplied, "0", left_unapplied == 0)
    results.add(name, "half load: callbacks sent/s", latency.rate, unit="/s")
    results.add(name, "half load: 2xx to applied, p50", latency.p50_ms, unit=" ms")
    results.add(
        name,
        "half load: 2xx to applied, p99",
        latency.p99_ms,
        "<= 1000 ms",
        latency.p99_ms <= 1000,
        unit=" ms",
    )
    results.add(
        name, "half load: events left unapplied", latency.unapplied, "0", latency.unapplied == 0
    )


def _drain(group: Processes, env: dict[str, str]) -> tuple[float, int]:
    """Start the `callbacks` process the runs went without, as production runs it (default
    settings, as `make run` and compose start it), and time it applying everything the runs
    stored: an event stored must become an event applied."""
    from conferences.callbacks import applier as callback_applier

    backlog = callback_applier.unapplied_events()
    waiting = backlog.count()
    group.start("callbacks", [sys.executable, "manage.py", "apply_callbacks"], env)
    wait_for(lambda: backlog.count() < waiting, timeout=120)  # it has started
    started, from_count = time.monotonic(), backlog.count()
    deadline = started + 600
    while (left := backlog.count()) and time.monotonic() < deadline:
        time.sleep(0.2)
    elapsed = time.monotonic() - started
    print(f"  applied {from_count - left} stored events in {elapsed:.1f} s")
    return (from_count - left) / elapsed if elapsed > 0 else float("nan"), left


@dataclass(frozen=True)
class _Latency:
    rate: float
    p50_ms: float
    p99_ms: float
    unapplied: int


HALF_LOAD_SECONDS = 30
SENDERS = 8


def _callback_to_applied(signing: _Signing, base_url: str, *, rate: float) -> _Latency:
    """Send signed callbacks at `rate` for 30 s with the callbacks process running, and
    measure from each 2xx to the moment its event was marked applied (same clock)."""
    from conferences.models import CallbackEvent

    seconds = HALF_LOAD_SECONDS if scale() == "full" else 10
    count = int(rate * seconds)
    requests_file = LOG_DIR / "webhooks-half-load.tsv"
    signing.write(requests_file, count=count, run=900)
    lines = [line.rstrip("\n").split("\t", 2) for line in requests_file.open()]
    answered_at: dict[tuple[str, str], float] = {}
    host = urlsplit(base_url)
    started = time.monotonic() + 0.5
    next_index = itertools.count()

    def send() -> None:
        connection = http.client.HTTPConnection(host.hostname or "", host.port, timeout=30)
        while (index := next(next_index)) < len(lines):
            path, signature, body = lines[index]
            if signature.startswith("FORGED"):
                continue
            delay = started + index / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            connection.request(
                "POST",
                path,
                body,
                {"Content-Type": "application/x-www-form-urlencoded", SIGNATURE: signature},
            )
            response = connection.getresponse()
            response.read()
            if 200 <= response.status < 300:
                params = parse_qs(body)
                answered_at[(params["CallSid"][0], params["CallStatus"][0])] = time.time()
        connection.close()

    with ThreadPoolExecutor(SENDERS) as pool:
        for _ in range(SENDERS):
            pool.submit(send)
    sent_for = time.monotonic() - started
    call_sids = {call_sid for call_sid, _ in answered_at}

    def events() -> list[Any]:
        return list(
            CallbackEvent.objects.filter(call_sid__in=call_sids).values(
                "call_sid", "event", "applied_at"
            )
        )

    deadline = time.monotonic() + 60
    while any(e["applied_at"] is None for e in events()) and time.monotonic() < deadline:
        time.sleep(0.2)
    delays = [
        (e["applied_at"].timestamp() - answered_at[(e["call_sid"], e["event"])]) * 1000
        for e in events()
        if e["applied_at"] is not None and (e["call_sid"], e["event"]) in answered_at
    ]
    unapplied = sum(1 for e in events() if e["applied_at"] is None)
    print(
        f"  half load: {len(answered_at)} callbacks in {sent_for:.1f} s "
        f"({len(answered_at) / sent_for:.0f}/s, asked for {rate:.0f}/s)"
    )
    return _Latency(
        rate=len(answered_at) / sent_for,
        p50_ms=percentile(delays, 0.50),
        p99_ms=percentile(delays, 0.99),
        unapplied=unapplied,
    )
