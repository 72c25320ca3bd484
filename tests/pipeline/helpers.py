"""Helpers only the pipeline tests use; dialing and reading the sandbox are in
tests.support.dialing."""

from __future__ import annotations

import subprocess
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import redis

from conferences.accounts import twilio_accounts
from conferences.models import Conference, DialRequest, User
from tests.support.network import free_port
from tests.support.waiting import wait_for
from twilio_sandbox import Sandbox

ALWAYS_ANSWERS = "+15005550006"
INVALID_TO = "+15005550001"


def arrival(entry: dict[str, Any]) -> datetime:
    """When the request reached the sandbox (it logs when it answered, and how long it took)."""
    answered = datetime.fromisoformat(entry["time"])
    return answered - timedelta(milliseconds=entry["duration_ms"])


def stored_dial(operator: User, conference: str, **fields: Any) -> DialRequest:
    """A dial row written straight to the database, in any state, without a worker."""
    account = twilio_accounts.default_account()
    room = Conference.objects.create(account=account, friendly_name=conference)
    return DialRequest.objects.create(
        account=account,
        conference=room,
        operator=operator,
        to_number="+15005550006",
        from_number="+15005550006",
        label=f"{conference}-{DialRequest.objects.count()}",
        **fields,
    )


class OwnRedis:
    """A redis-server of this test's own, on a free port, without persistence (as on our
    machines): stopped, it comes back empty. Never the shared one; only its own PID is
    ever signalled."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.log_dir = log_dir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = (self.log_dir / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for(self.answers, timeout=20)

    def answers(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        """SIGKILL, as a crash would: nothing is saved, the next start is empty."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


@contextmanager
def own_redis(log_dir: Path) -> Iterator[OwnRedis]:
    """An `OwnRedis`, started, and stopped on the way out even if the test failed."""
    server = OwnRedis(log_dir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def calls_by_label(sandbox: Sandbox) -> Counter[str]:
    """How many calls the sandbox made for each participant label: its own state, not the
    app's records and not its request log (a create that hung has no logged answer)."""
    with sandbox.store.lock:
        return Counter(
            sandbox.store.participant_of(call).label or "" for call in sandbox.store.calls.values()
        )
