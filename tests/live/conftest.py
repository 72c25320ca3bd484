"""Fixtures for the live conference pages.

The sandbox and the Celery workers (tests/support/workers.py) start once for this
package here, not once per test: each start costs seconds, and the tests share them
safely (every test gets the sandbox reset, its own database rows and fresh pacing). They
stop before pytest runs a test of another package, so no other area's test ever meets
these workers on the shared queue.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from tests.support.artifacts import ARTIFACTS
from tests.support.sandbox import running_sandbox
from tests.support.waiting import wait_for
from tests.support.workers import Workers, worker_pool
from twilio_sandbox import Faults, Sandbox


@pytest.fixture(scope="package")
def package_sandbox() -> Iterator[Sandbox]:
    with running_sandbox(speed=50.0, seed=7) as box:
        yield box


@pytest.fixture
def sandbox(package_sandbox: Sandbox) -> Sandbox:
    """The module's sandbox, forgetting every call of the test before."""
    package_sandbox.reset()
    return package_sandbox


@pytest.fixture(scope="package")
def package_workers(
    django_db_setup: None,
    django_db_blocker: Any,
    live_server: Any,
    package_sandbox: Sandbox,
) -> Iterator[Workers]:
    """Two real `celery worker` processes on this test run's database, Redis db and queue."""
    from conferences.core.redis_connection import redis_client

    with django_db_blocker.unblock():
        db = connection.settings_dict
    client = redis_client()
    client.flushdb()
    log_dir = ARTIFACTS / "live-workers"
    log_dir.mkdir(parents=True, exist_ok=True)
    with worker_pool(
        db,
        public_base_url=live_server.url,
        twilio_api_base_url=package_sandbox.url,
        log_dir=log_dir,
    ) as pool:
        pool.start(concurrency=3, name="live-a")
        yield pool
    client.flushdb()


def _database_is_quiet() -> bool:
    """No other connection to the test database is inside a statement or a transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state <> 'idle'"
        )
        row = cursor.fetchone()
    return row is not None and row[0] == 0


def _settle(sandbox: Sandbox) -> None:
    """Let the test's calls fall silent before its rows are flushed: a callback or a worker
    writing during TRUNCATE deadlocks it, and one arriving later lands in the next test."""
    sandbox.set_faults(Faults.from_json({"callback_endpoint_down": True}))  # send no more
    wait_for(lambda: not sandbox.callbacks(status="pending"), timeout=15)
    sandbox.reset()  # stop every call; restores the starting faults
    quiet_since: list[float] = []

    def quiet_for_a_while() -> bool:
        if not _database_is_quiet():
            quiet_since.clear()
            return False
        quiet_since[:1] = quiet_since[:1] or [time.monotonic()]
        return time.monotonic() - quiet_since[0] >= 0.3

    wait_for(quiet_for_a_while, timeout=15, interval=0.05)


@pytest.fixture
def workers(
    transactional_db: None,
    package_workers: Workers,
    sandbox: Sandbox,
    live_server: Any,
    settings: Any,
) -> Iterator[Workers]:
    """Workers ready for this test: callbacks reach this process, calls reach the sandbox."""
    from conferences.core.redis_connection import redis_client

    settings.PUBLIC_BASE_URL = live_server.url
    settings.TWILIO_API_BASE_URL = sandbox.url
    client = redis_client()
    # Pacing left by the test before must not delay this one's calls.
    for key in client.scan_iter(match="dashboard:*:cps:*"):
        client.delete(key)
    yield package_workers
    _settle(sandbox)
