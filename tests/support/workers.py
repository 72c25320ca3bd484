"""Real `celery worker` processes (and the `callbacks` applier) started by a test.

Each pool is wired to this test run's database and to the Redis database and queue that
dashboard.settings gives this xdist worker (PYTEST_XDIST_WORKER), so parallel test
processes never take each other's tasks.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

from tests.support.artifacts import ARTIFACTS
from tests.support.waiting import wait_for
from twilio_sandbox import Faults, Sandbox

BASE = Path(__file__).resolve().parents[2]


def celery_worker_env(
    database: Mapping[str, Any],
    *,
    redis_url: str,
    queue: str,
    public_base_url: str,
    twilio_api_base_url: str,
    **overrides: str,
) -> dict[str, str]:
    """The environment of a worker process: this test's database, Redis database and queue,
    the live server's URL and the sandbox; short timeouts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "COV_"))}
    host, port = database["HOST"], database["PORT"] or 5432
    env.update(
        DJANGO_SETTINGS_MODULE="dashboard.settings",
        TESTING="false",
        DATABASE_URL=f"postgres://{database['USER']}@{host}:{port}/{database['NAME']}",
        REDIS_URL=redis_url,
        CELERY_QUEUE=queue,
        PUBLIC_BASE_URL=public_base_url,
        TWILIO_API_BASE_URL=twilio_api_base_url,
        # Seconds, not minutes: a test waits for these.
        TWILIO_HTTP_TIMEOUT_SECONDS="2",
        DIAL_RETRY_BASE_SECONDS="0.2",
        DIAL_RETRY_MAX_SECONDS="2",
        DIAL_VERIFY_GRACE_SECONDS="0.5",
        WORKER_HEARTBEAT_SECONDS="0.5",
        CELERY_TASK_SOFT_TIME_LIMIT="20",
        CELERY_TASK_TIME_LIMIT="30",
    )
    env.update(overrides)
    return env


class Workers:
    """Starts `celery worker` processes wired to this test's database, Redis db and queue."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen[bytes]] = []
        self.applier: subprocess.Popen[bytes] | None = None

    def start(self, *, concurrency: int = 2, name: str | None = None) -> subprocess.Popen[bytes]:
        from conferences.operations.heartbeat import read_heartbeats

        self.start_applier()

        name = name or f"w{len(self.processes)}"
        before = {beat.worker for beat in read_heartbeats()}
        process = self._spawn(
            name,
            [
                "-m",
                "celery",
                "-A",
                "dashboard",
                "worker",
                "--queues",
                self.env["CELERY_QUEUE"],
                "--concurrency",
                str(concurrency),
                "--hostname",
                f"{name}@%h",
                "--loglevel",
                "INFO",
                "--without-mingle",
                "--without-gossip",
                "--without-heartbeat",
            ],
        )
        wait_for(
            lambda: {beat.worker for beat in read_heartbeats()} - before,
            timeout=60,
            interval=0.1,
        )
        return process

    def start_applier(self) -> subprocess.Popen[bytes]:
        """The `callbacks` process that runs beside the workers (Procfile): it applies the
        callbacks the receiver stores. One per pool."""
        if self.applier is None:
            self.applier = self._spawn(
                "applier", ["manage.py", "apply_callbacks", "--poll-seconds", "0.02"]
            )
        return self.applier

    def start_beat(self) -> subprocess.Popen[bytes]:
        """`celery beat` beside the workers (the Procfile's beat): its sweeper sends lost
        dials on. Its schedule file lives in the pool's log folder."""
        return self._spawn(
            "beat",
            [
                "-m",
                "celery",
                "-A",
                "dashboard",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(self.log_dir / "beat-schedule"),
            ],
        )

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        """`python args…` in its own session (so kill() takes its children too), logged."""
        log = (self.log_dir / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, *args],
            cwd=BASE,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL the worker and its pool children, as a crashed machine would."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


@contextmanager
def worker_pool(
    database: Mapping[str, Any],
    *,
    public_base_url: str,
    twilio_api_base_url: str,
    log_dir: Path,
    **overrides: str,
) -> Iterator[Workers]:
    """A pool (no process started yet) whose processes all stop on the way out, even when
    starting one failed: a worker left running would take the next test's tasks.

    Redis and the queue come from settings, which are per xdist worker; `overrides` are
    extra environment variables for the processes.
    """
    env = celery_worker_env(
        database,
        redis_url=settings.REDIS_URL,
        queue=settings.CELERY_TASK_DEFAULT_QUEUE,
        public_base_url=public_base_url,
        twilio_api_base_url=twilio_api_base_url,
        **overrides,
    )
    pool = Workers(env, log_dir)
    try:
        yield pool
    finally:
        pool.stop_all()


@contextmanager
def package_pool(
    database: Mapping[str, Any],
    *,
    public_base_url: str,
    sandbox: Sandbox,
    name: str,
    concurrency: int,
) -> Iterator[Workers]:
    """One started worker (and the applier) for a whole test package, Redis emptied before
    and after; logs under ARTIFACTS/<name>-workers. A package starts it once (each start
    costs seconds) and its tests share it, each settling its calls before the next."""
    from conferences.core.redis_connection import redis_client

    client = redis_client()
    client.flushdb()
    log_dir = ARTIFACTS / f"{name}-workers"
    log_dir.mkdir(parents=True, exist_ok=True)
    with worker_pool(
        database,
        public_base_url=public_base_url,
        twilio_api_base_url=sandbox.url,
        log_dir=log_dir,
    ) as pool:
        pool.start(concurrency=concurrency, name=f"{name}-a")
        yield pool
    client.flushdb()


def forget_pacing() -> None:
    """Drop every account's CPS pacing, so the test before never delays this one's calls."""
    from conferences.core.redis_connection import redis_client

    client = redis_client()
    for key in client.scan_iter(match="dashboard:*:cps:*"):
        client.delete(key)


def database_is_quiet() -> bool:
    """No other connection to the test database is inside a statement or a transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state <> 'idle'"
        )
        row = cursor.fetchone()
    return row is not None and row[0] == 0


def settle(sandbox: Sandbox) -> None:
    """Let a test's calls fall silent before its rows are flushed: a callback or a worker
    writing during TRUNCATE deadlocks it, and one arriving later lands in the next test."""
    sandbox.set_faults(Faults.from_json({"callback_endpoint_down": True}))  # send no more
    wait_for(lambda: not sandbox.callbacks(status="pending"), timeout=15)
    sandbox.reset()  # stop every call; restores the starting faults
    quiet_since: list[float] = []

    def quiet_for_a_while() -> bool:
        if not database_is_quiet():
            quiet_since.clear()
            return False
        quiet_since[:1] = quiet_since[:1] or [time.monotonic()]
        return time.monotonic() - quiet_since[0] >= 0.3

    wait_for(quiet_for_a_while, timeout=15, interval=0.05)
