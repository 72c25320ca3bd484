"""The app started as `make run` starts it: web, workers, beat and sandbox from the Procfile,
as separate processes on free ports, against PostgreSQL and Redis."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from tests.support.network import free_port

BASE = Path(__file__).resolve().parents[2]
# What `make run` starts when no Twilio account is configured (scripts/run).
PROCESSES = ("web", "worker", "callbacks", "beat", "sandbox")


@pytest.fixture(autouse=True)
def fast_password_hashing() -> None:
    """Keeps Django's real hashers here (this replaces the root conftest's MD5 one): the app
    under test runs in processes of its own, which could not check an MD5 password."""


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310 -- our own local server
            return True
    except (urllib.error.URLError, OSError):
        return False


def procfile_without_reloading(folder: Path) -> Path:
    """The Procfile `make run` starts, its web server told not to reload: a file saved in
    the checkout while a journey runs would restart it, and callbacks sent meanwhile are
    lost."""
    lines = []
    for line in (BASE / "Procfile").read_text(encoding="utf-8").splitlines():
        if line.startswith("web:") and "runserver" in line:
            line = f"{line} --noreload"
        lines.append(line)
    procfile = folder / "Procfile"
    procfile.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return procfile


@dataclass(frozen=True)
class RunningApp:
    url: str
    sandbox_url: str
    log: Path

    def sandbox_journal(self, kind: str, **filters: str) -> list[dict[str, Any]]:
        """What the sandbox process received ("requests") or sent ("callbacks"), oldest
        first; `filters` match fields exactly, as GET /_sandbox/<kind>?field=value does."""
        query = urllib.parse.urlencode(filters)
        address = f"{self.sandbox_url}/_sandbox/{kind}?{query}"
        with urllib.request.urlopen(address, timeout=5) as answer:  # noqa: S310 -- our sandbox
            entries: list[dict[str, Any]] = json.load(answer)[kind]
        return entries


@pytest.fixture
def running_app(
    transactional_db: None, settings: Any, redis_db: Any, artifacts_dir: Path
) -> Iterator[RunningApp]:
    from conferences.operations.heartbeat import read_heartbeats

    web_port, sandbox_port = free_port(), free_port()
    db = connection.settings_dict
    url = f"http://127.0.0.1:{web_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        PATH=f"{BASE / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        DJANGO_SETTINGS_MODULE="dashboard.settings",
        TESTING="false",
        DEBUG="true",
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        REDIS_URL=settings.REDIS_URL,
        CELERY_QUEUE=settings.CELERY_TASK_DEFAULT_QUEUE,
        WEB_ADDR=f"127.0.0.1:{web_port}",
        PUBLIC_BASE_URL=url,
        SANDBOX_PORT=str(sandbox_port),
        SANDBOX_SPEED="10",
        TWILIO_API_BASE_URL=f"http://127.0.0.1:{sandbox_port}",
        WORKER_HEARTBEAT_SECONDS="1",
        SWEEP_INTERVAL_SECONDS="2",
        # Scheduled conferences: the beat looks for due ones every second, not every 5 s,
        # and the account places 4 calls a second, so an event's dial-out takes seconds.
        EVENTS_DUE_POLL_SECONDS="1",
        TWILIO_CPS="4",
    )
    env.pop("TWILIO_ACCOUNT_SID", None)
    log = artifacts_dir / "processes.log"
    with log.open("wb") as out:
        honcho = subprocess.Popen(
            [
                str(BASE / ".venv" / "bin" / "honcho"),
                "start",
                "--procfile",
                str(procfile_without_reloading(artifacts_dir)),
                "web",
                "worker",
                "callbacks",
                "beat",
                "sandbox",
            ],
            cwd=BASE,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 90
        while not (
            answers(f"{url}/healthz")
            and answers(f"http://127.0.0.1:{sandbox_port}/_sandbox/health")
            and read_heartbeats()
        ):
            if honcho.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the app did not start; see {log}")
            time.sleep(0.2)
        yield RunningApp(url=url, sandbox_url=f"http://127.0.0.1:{sandbox_port}", log=log)
    finally:
        os.killpg(honcho.pid, signal.SIGTERM)
        try:
            honcho.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(honcho.pid, signal.SIGKILL)
