"""Real Celery workers against real Redis, the real sandbox and this test's database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from tests.worker_env import celery_worker_env
from twilio_sandbox import Sandbox

BASE = Path(__file__).resolve().parents[2]


def wait_for(condition: Callable[[], Any], *, timeout: float = 30.0, interval: float = 0.05) -> Any:
    """Poll until `condition()` is truthy; fail with its last value at the deadline."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox(host="127.0.0.1", port=0, speed=50.0, seed=7)
    box.start()
    yield box
    box.stop()


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


@pytest.fixture
def workers(
    transactional_db: None,
    live_server: Any,
    sandbox: Sandbox,
    settings: Any,
    redis_db: Any,
    artifacts_dir: Path,
) -> Iterator[Workers]:
    settings.PUBLIC_BASE_URL = live_server.url
    settings.TWILIO_API_BASE_URL = sandbox.url
    env = celery_worker_env(
        connection.settings_dict,
        redis_url=settings.REDIS_URL,
        queue=settings.CELERY_TASK_DEFAULT_QUEUE,
        public_base_url=live_server.url,
        twilio_api_base_url=sandbox.url,
        DIAL_MAX_ATTEMPTS="10",
        DIAL_STALE_CLAIM_SECONDS="4",
    )
    pool = Workers(env, artifacts_dir)
    yield pool
    pool.stop_all()
