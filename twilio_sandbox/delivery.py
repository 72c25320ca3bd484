"""Sends callbacks: signed, one FIFO lane per destination host, faults applied.

A lane is a thread of its own, so a slow or hanging endpoint never holds up the API or
the call scheduler, and callbacks to one host leave in the order the calls produced them
(unless a reorder or delay fault says otherwise). Failures are journaled and never
retried, as Twilio does not retry status callbacks.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.client import HTTPConnection, HTTPSConnection
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

from twilio_sandbox.callbacks import Callback
from twilio_sandbox.faults import FaultDecider
from twilio_sandbox.journal import Journal, group
from twilio_sandbox.scheduler import Scheduler
from twilio_sandbox.signing import compute_signature

logger = logging.getLogger(__name__)

USER_AGENT: Final = "TwilioProxy/1.1"
# A reordered callback waits this long (real seconds) for a later one to overtake it.
REORDER_HOLD_SECONDS: Final = 2.0


@dataclass
class _Job:
    url: str
    method: str
    body: bytes | None
    headers: dict[str, str]
    entry: dict[str, Any]
    reorder: bool
    epoch: int


def prepare(callback: Callback, auth_token: str) -> tuple[str, bytes | None, dict[str, str]]:
    """The exact URL, body and headers Twilio would send for this callback."""
    headers = {
        "User-Agent": USER_AGENT,
        "Accept": "*/*",
        "Cache-Control": "max-age=259200",
        "I-Twilio-Idempotency-Token": uuid.uuid4().hex,
    }
    if callback.method == "GET":
        separator = "" if callback.url.endswith(("?", "&")) else "&" if "?" in callback.url else "?"
        url = callback.url + separator + urlencode(callback.params)
        headers["X-Twilio-Signature"] = compute_signature(auth_token, url)
        return url, None, headers
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    headers["X-Twilio-Signature"] = compute_signature(auth_token, callback.url, callback.params)
    return callback.url, urlencode(callback.params).encode(), headers


class Delivery:
    def __init__(
        self,
        *,
        journal: Journal,
        decider: FaultDecider,
        scheduler: Scheduler,
        auth_token_for: Callable[[str], str],
        current_epoch: Callable[[], int],
        timeout: float = 10.0,
    ) -> None:
        self._journal = journal
        self._decider = decider
        self._scheduler = scheduler
        self._auth_token_for = auth_token_for
        self._current_epoch = current_epoch
        self._timeout = timeout
        self._lanes: dict[tuple[str, str, int | None], _Lane] = {}
        self._lock = threading.Lock()
        self._stopped = False

    def submit(self, callback: Callback) -> None:
        """Journal the callback and queue it; never blocks on the network."""
        faults = self._decider.for_callback(to=callback.to, label=callback.label)
        url, body, headers = prepare(callback, self._auth_token_for(callback.account_sid))
        copies = 2 if faults.duplicate else 1
        jobs = []
        for copy in range(copies):
            entry = self._journal.open_callback(
                kind=callback.kind,
                event=callback.event,
                account_sid=callback.account_sid,
                call_sid=callback.call_sid,
                conference_sid=callback.conference_sid,
                url=url,
                method=callback.method,
                params=group(callback.params),
                signature=headers["X-Twilio-Signature"],
                idempotency_token=headers["I-Twilio-Idempotency-Token"],
                duplicate=copy > 0,
            )
            if faults.drop:
                self._journal.close_callback(entry, status="dropped", error="dropped by fault")
                continue
            if faults.endpoint_down:
                self._journal.close_callback(
                    entry, status="failed", error="endpoint down (fault): not attempted"
                )
                continue
            jobs.append(
                _Job(
                    url,
                    callback.method,
                    body,
                    headers,
                    entry,
                    faults.reorder and copy == 0,
                    self._current_epoch(),
                )
            )
        if not jobs:
            return
        if faults.delay_seconds > 0:
            self._scheduler.call_later(faults.delay_seconds, lambda: self._enqueue(jobs))
        else:
            self._enqueue(jobs)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            lanes = list(self._lanes.values())
            self._lanes.clear()
        for lane in lanes:
            lane.close()

    def _enqueue(self, jobs: list[_Job]) -> None:
        parts = urlsplit(jobs[0].url)
        key = (parts.scheme, parts.hostname or "", parts.port)
        with self._lock:
            if self._stopped:
                return
            lane = self._lanes.get(key)
            if lane is None:
                lane = self._lanes[key] = _Lane(self._send, name=f"callbacks-{parts.netloc}")
        for job in jobs:
            lane.put(job)

    def _send(self, job: _Job) -> None:
        if job.epoch != self._current_epoch():
            return
        parts = urlsplit(job.url)
        connection_type = HTTPSConnection if parts.scheme == "https" else HTTPConnection
        connection = connection_type(parts.hostname or "", parts.port, timeout=self._timeout)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request(job.method, target, body=job.body, headers=job.headers)
            response = connection.getresponse()
            response.read()
        except OSError as exc:
            self._journal.close_callback(
                job.entry, status="failed", error=f"{type(exc).__name__}: {exc}"
            )
            return
        finally:
            connection.close()
        delivered = 200 <= response.status < 300
        self._journal.close_callback(
            job.entry,
            status="delivered" if delivered else "failed",
            response_status=response.status,
            error=None if delivered else f"HTTP {response.status}",
        )


class _Lane:
    """FIFO sender for one host; a job marked `reorder` lets the next job overtake it."""

    def __init__(self, send: Callable[[_Job], None], name: str) -> None:
        self._send = send
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._held: _Job | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, job: _Job) -> None:
        self._queue.put(job)

    def close(self) -> None:
        self._queue.put(None)

    def _run(self) -> None:
        while True:
            try:
                job = self._queue.get(timeout=REORDER_HOLD_SECONDS if self._held else None)
            except queue.Empty:
                self._release_held()
                continue
            if job is None:
                return
            if job.reorder and self._held is None:
                self._held = job
                continue
            self._deliver(job)
            self._release_held()

    def _release_held(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            self._deliver(held)

    def _deliver(self, job: _Job) -> None:
        try:
            self._send(job)
        except Exception:
            logger.exception("sandbox callback delivery crashed")
