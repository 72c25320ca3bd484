"""Worker liveness through Redis: each Celery worker writes a heartbeat every few seconds.

/healthz/detail reads these keys instead of asking workers over the broker
(`inspect ping`), which is slow and fails when the broker is busy."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import redis
from celery.signals import worker_ready, worker_shutdown
from django.conf import settings

from conferences.core.redis_connection import redis_client

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerHeartbeat:
    worker: str
    age_seconds: float


def write_heartbeat(worker: str, client: redis.Redis | None = None) -> None:
    ttl = max(30, int(settings.WORKER_HEARTBEAT_SECONDS * 6))
    (client or redis_client()).set(
        settings.WORKER_HEARTBEAT_KEY_PREFIX + worker, f"{time.time():.3f}", ex=ttl
    )


def read_heartbeats(client: redis.Redis | None = None) -> list[WorkerHeartbeat]:
    """Every live worker's heartbeat, newest first."""
    client = client or redis_client()
    prefix = settings.WORKER_HEARTBEAT_KEY_PREFIX
    keys = list(client.scan_iter(match=prefix + "*", count=100))
    if not keys:
        return []
    now = time.time()
    beats = []
    for key, value in zip(keys, client.mget(keys), strict=True):
        if value is None:
            continue
        name = key.decode()[len(prefix) :]
        beats.append(WorkerHeartbeat(worker=name, age_seconds=max(0.0, now - float(value))))
    return sorted(beats, key=lambda beat: beat.age_seconds)


class _HeartbeatThread(threading.Thread):
    def __init__(self, worker: str) -> None:
        super().__init__(name="worker-heartbeat", daemon=True)
        self.worker = worker
        self.stopped = threading.Event()

    def run(self) -> None:
        client = redis_client()
        while not self.stopped.is_set():
            try:
                write_heartbeat(self.worker, client)
            except redis.RedisError as error:
                logger.warning("worker heartbeat not written: %s", error)
            self.stopped.wait(settings.WORKER_HEARTBEAT_SECONDS)
        with contextlib.suppress(redis.RedisError):
            client.delete(settings.WORKER_HEARTBEAT_KEY_PREFIX + self.worker)


_thread: _HeartbeatThread | None = None


def _start(sender: Any = None, **_: Any) -> None:
    global _thread
    hostname = getattr(sender, "hostname", None) or socket.gethostname()
    _thread = _HeartbeatThread(str(hostname))
    _thread.start()


def _stop(**_: Any) -> None:
    if _thread is not None:
        _thread.stopped.set()
        _thread.join(timeout=5)


def connect_worker_signals() -> None:
    worker_ready.connect(_start, weak=False, dispatch_uid="dashboard-heartbeat-start")
    worker_shutdown.connect(_stop, weak=False, dispatch_uid="dashboard-heartbeat-stop")
