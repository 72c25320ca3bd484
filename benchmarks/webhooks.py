"""Webhook ingest under load against a bare Django view (issue 8).

Same gunicorn settings for both, PostgreSQL, wrk with one thread; median of 3 runs. 5 % of
the callbacks are forged and must all get 403; after each run drains, the stored events
must equal the 2xx answers.
"""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

from benchmarks.harness import (
    LOG_DIR,
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

LUA = Path(__file__).with_name("webhooks.lua")
CONNECTIONS = 8
STATUSES = ("initiated", "ringing", "in-progress", "completed")


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


def _wrk(port: int, requests_file: Path, seconds: int, *, bare: bool) -> dict[str, float]:
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
    if bare:
        argv.append("bare")
    output = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    figures: dict[str, float] = {}
    for key in ("SENT", "FORGED", "WRAPPED", "RPS", "P50_US", "P99_US"):
        match = re.search(rf"^{key} ([\d.]+)", output, re.M)
        figures[key] = float(match.group(1)) if match else float("nan")
    for status, count in re.findall(r"^STATUS (\d+) (\d+)", output, re.M):
        figures[f"status_{status}"] = float(count)
    return figures


def run(results: Results) -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (make bench does it as root)")
    seconds = 10 if scale() == "full" else 3
    runs = 3
    print(f"webhooks: {runs} runs of {seconds} s each, signed callbacks vs a bare view")
    fresh_database()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = bench_env(PUBLIC_BASE_URL=base_url, DJANGO_SETTINGS_MODULE="benchmarks.bench_settings")
    with processes("webhooks") as group:
        gunicorn(group, "web", port, env, workers=3)
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
        rate_ratio, p99_ratio, p99_ms, bare_p99_ms = [], [], [], []
        lost_or_extra, unrefused = 0.0, 0
        for run_number in range(runs):
            requests_file = LOG_DIR / f"webhooks-{run_number}.tsv"
            _signed_requests(
                requests_file,
                count=40_000 if scale() == "full" else 8_000,
                run=run_number,
                base_url=base_url,
                dial_ids=dial_ids,
                token=settings.TWILIO_AUTH_TOKEN,
                account_sid=account.account_sid,
            )
            bare = _wrk(port, requests_file, seconds, bare=True)
            before = CallbackEvent.objects.count()
            signed = _wrk(port, requests_file, seconds, bare=False)
            stored = CallbackEvent.objects.count() - before
            answered_2xx = sum(v for k, v in signed.items() if k.startswith("status_2"))
            answered = sum(v for k, v in signed.items() if k.startswith("status_"))
            # wrk stops with up to one request per connection in flight: the server may
            # have stored those without wrk seeing the answer.
            in_flight = signed["SENT"] - answered
            if signed["WRAPPED"]:
                print("  warning: the request file wrapped; duplicates were sent", file=sys.stderr)
            lost = max(0.0, answered_2xx - stored)
            extra = max(0.0, stored - answered_2xx - in_flight)
            lost_or_extra += lost + extra
            unrefused += int(signed["FORGED"] - signed.get("status_403", 0) - in_flight > 0)
            rate_ratio.append(signed["RPS"] / bare["RPS"])
            p99_ratio.append(signed["P99_US"] / bare["P99_US"])
            p99_ms.append(signed["P99_US"] / 1000)
            bare_p99_ms.append(bare["P99_US"] / 1000)
            print(
                f"  run {run_number + 1}: {signed['RPS']:.0f} vs {bare['RPS']:.0f} req/s, "
                f"stored {stored} of {answered_2xx:.0f} 2xx, {signed['FORGED']:.0f} forged, "
                f"{signed.get('status_403', 0):.0f} refused"
            )
        applied_per_second, left_unapplied = _drain(group, env)
    name = "webhooks"
    ratio = statistics.median(rate_ratio)
    results.add(name, "signed callbacks/s / bare view req/s", ratio, ">= 0.70", ratio >= 0.70)
    results.add(name, "p99 / bare view p99", statistics.median(p99_ratio), unit="x")
    results.add(name, "p99 signed callback", statistics.median(p99_ms), unit=" ms")
    results.add(name, "p99 bare view", statistics.median(bare_p99_ms), unit=" ms")
    results.add(name, "forged callbacks not refused", unrefused, "0", unrefused == 0)
    results.add(name, "events lost or extra vs 2xx answers", lost_or_extra, "0", lost_or_extra == 0)
    results.add(name, "events applied/s by one callbacks process", applied_per_second, unit="/s")
    results.add(name, "stored events left unapplied", left_unapplied, "0", left_unapplied == 0)


def _drain(group: Processes, env: dict[str, str]) -> tuple[float, int]:
    """Start the `callbacks` process the runs went without, as production runs it, and time
    it applying everything the runs stored: an event stored must become an event applied."""
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
