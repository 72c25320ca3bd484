"""History pages, filters and export as the history grows (issue 10).

Seeds 10,000 then 1,000,000 dials (BENCH_SCALE=small: 2,000 then 20,000) into the fresh
bench database, then VACUUM ANALYZEs the seeded tables: this machine's PostgreSQL runs with
autovacuum off (a CI setting), and a production database's autovacuum would have merged the
bulk load's GIN pending lists and set the visibility map. Server time is measured
in-process with Django's test Client (the whole view, middleware and template; no network)
outside Django's test environment, whose template instrumentation copies the context on
every template and partial render (once per list row), a cost production never pays.
The export runs in a child process per size, streaming every row of the history to nowhere,
and reports its rows per second and its peak RSS (`ru_maxrss`). Targets are ratios within
this run: list p95 at the large size at most 2x the small size's for every filter mix;
export peak memory at most 1.2x.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from benchmarks.harness import (
    BASE,
    Results,
    bench_env,
    fresh_database,
    percentile,
    scale,
    setup_django,
)

REQUESTS_PER_FIGURE = 30

_EXPORT_CHILD = """
import json, os, resource, sys, time
import django
django.setup()
from django.test.utils import setup_test_environment
setup_test_environment()
from django.test import Client
from conferences.models import User
client = Client()
client.force_login(User.objects.get(username="bench-supervisor"))
started = time.monotonic()
response = client.get("/history/export.csv")
rows = -1
for chunk in response.streaming_content:
    rows += chunk.count(b"\\n")
elapsed = time.monotonic() - started
print(json.dumps({"rows": rows, "seconds": elapsed,
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def _timings(client: Any, url: str, query: dict[str, str]) -> list[float]:
    times = []
    for _ in range(REQUESTS_PER_FIGURE):
        started = time.perf_counter()
        response = client.get(url, query)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url} {query} answered {response.status_code}")
    return times


def _export(env: dict[str, str]) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", _EXPORT_CHILD],
        cwd=BASE,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


# What seeding writes: vacuumed after each seed, as autovacuum would after a bulk load.
SEEDED_TABLES = ("conferences_conference", "conferences_dialrequest", "conferences_callbackevent")


def _settle(tables: tuple[str, ...]) -> float:
    """VACUUM ANALYZE `tables`; the seconds it took."""
    from django.db import connection

    started = time.monotonic()
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(table)}")
    return time.monotonic() - started


def _measure_size(results: Results, size: int, env: dict[str, str]) -> dict[str, float]:
    import random

    from django.test import Client

    from conferences.history import seeding
    from conferences.models import DialRequest, User

    report = seeding.seed_history(size, progress=lambda line: print(f"  seeding: {line}"))
    print(
        f"  seeded {report.added:,} dials, {report.events_added:,} callbacks "
        f"in {report.seconds:.0f} s"
    )
    results.add("history", f"seconds to seed up to {size:,} dials", report.seconds, unit=" s")
    results.add(
        "history", f"{size:,}: seconds to VACUUM ANALYZE", _settle(SEEDED_TABLES), unit=" s"
    )
    # A host in the default ALLOWED_HOSTS: outside the test environment "testserver" is not.
    client = Client(SERVER_NAME="localhost")
    client.force_login(User.objects.get(username="bench-supervisor"))
    p95: dict[str, float] = {}
    for mix, query in seeding.filter_mixes().items():
        times = _timings(client, "/history/", query)
        p95[mix] = percentile(times, 0.95)
        results.add("history", f"{size:,}: list '{mix}' p50", percentile(times, 0.5), unit=" ms")
        results.add("history", f"{size:,}: list '{mix}' p95", p95[mix], unit=" ms")
    ids = list(DialRequest.objects.order_by("?").values_list("pk", flat=True)[:REQUESTS_PER_FIGURE])
    detail = []
    for dial_id in ids:
        detail.extend(_timings(client, f"/history/{dial_id}/", {})[:1])
    results.add("history", f"{size:,}: detail p50", percentile(detail, 0.5), unit=" ms")
    results.add("history", f"{size:,}: detail p95", percentile(detail, 0.95), unit=" ms")
    overview = _timings(client, "/history/overview/", {})[:10]
    results.add("history", f"{size:,}: overview p50", percentile(overview, 0.5), unit=" ms")
    results.add("history", f"{size:,}: overview p95", percentile(overview, 0.95), unit=" ms")
    exported = _export(env)
    rate = exported["rows"] / exported["seconds"]
    results.add("history", f"{size:,}: export rows", exported["rows"])
    results.add("history", f"{size:,}: export rows per second", rate)
    results.add("history", f"{size:,}: export peak RSS", exported["maxrss_kb"] / 1024, unit=" MB")
    random.seed(size)
    return {**{f"p95 {mix}": value for mix, value in p95.items()}, "rss": exported["maxrss_kb"]}


def run(results: Results) -> None:
    small, large = (10_000, 1_000_000) if scale() == "full" else (2_000, 20_000)
    print(f"history: {small:,} then {large:,} dials; Django test Client in-process")
    fresh_database()
    env = bench_env()
    setup_django(env)
    from django.conf import settings
    from django.test.utils import override_settings

    from conferences.models import User
    from tests.conftest import make_user

    # No collectstatic in the bench: plain static storage, so pages render without a manifest.
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    override_settings(STORAGES=storages).enable()
    if not User.objects.filter(username="bench-supervisor").exists():
        make_user("bench-supervisor", "supervisor")
    baseline = _measure_size(results, small, env)
    grown = _measure_size(results, large, env)
    for key, value in baseline.items():
        if not key.startswith("p95 "):
            continue
        ratio = grown[key] / value
        results.add(
            "history", f"list {key[4:]!r} p95 ratio {large:,}/{small:,}", ratio, "<= 2", ratio <= 2
        )
    rss_ratio = grown["rss"] / baseline["rss"]
    results.add(
        "history",
        f"export peak RSS ratio {large:,}/{small:,}",
        rss_ratio,
        "<= 1.2",
        rss_ratio <= 1.2,
    )
