"""`Sandbox`: builds the parts, serves them in a background thread, stops them cleanly."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Final, TextIO

from twilio_sandbox.api import Api, Route
from twilio_sandbox.clock import SimClock, utcnow
from twilio_sandbox.delivery import Delivery
from twilio_sandbox.faults import CallQueue, ConcurrencyGate, FaultDecider, Faults
from twilio_sandbox.journal import Journal
from twilio_sandbox.player import Player
from twilio_sandbox.scheduler import Scheduler
from twilio_sandbox.server import SandboxHTTPServer
from twilio_sandbox.state import SandboxAccount, Store

DEFAULT_ACCOUNT_SID: Final = "AC00000000000000000000000000000001"
DEFAULT_AUTH_TOKEN: Final = "5a4db0c5a4db0c5a4db0c5a4db0c5a4d"  # noqa: S105 - public test value


def default_accounts() -> list[SandboxAccount]:
    """TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN from the environment, else the defaults."""
    sid = os.environ.get("TWILIO_ACCOUNT_SID") or DEFAULT_ACCOUNT_SID
    token = os.environ.get("TWILIO_AUTH_TOKEN") or DEFAULT_AUTH_TOKEN
    return [SandboxAccount(sid=sid, auth_token=token)]


class Sandbox:
    """A local Twilio REST API v2010 (conferences, participants, calls) that plays calls."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        accounts: Sequence[SandboxAccount] | None = None,
        speed: float = 1.0,
        seed: int = 0,
        faults: Faults | None = None,
        callback_timeout: float = 10.0,
        log_stream: TextIO | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.seed = seed
        self.clock = SimClock(speed)
        self.initial_faults = faults or Faults()
        self.stopping = threading.Event()
        self._log_stream = log_stream
        self._log_lock = threading.Lock()
        self.store = Store(list(accounts) if accounts else default_accounts())
        self.journal = Journal()
        self.scheduler = Scheduler()
        self.decider = FaultDecider(self.initial_faults, seed)
        self.call_queue = CallQueue()
        self.gate = ConcurrencyGate()
        self.delivery = Delivery(
            journal=self.journal,
            decider=self.decider,
            scheduler=self.scheduler,
            auth_token_for=lambda sid: self.store.accounts[sid].auth_token,
            current_epoch=lambda: self.store.epoch,
            timeout=callback_timeout,
        )
        self.player = Player(
            store=self.store,
            scheduler=self.scheduler,
            submit=self.delivery.submit,
            clock=self.clock,
            seed=seed,
            base_url=lambda: self.url,
        )
        self.api = Api(
            store=self.store,
            player=self.player,
            call_queue=self.call_queue,
            current_faults=lambda: self.decider.faults,
        )
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Sandbox:
        """Bind, then serve from a background thread; returns self."""
        self._server = SandboxHTTPServer((self.host, self.port), self)
        self.scheduler.start()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="sandbox-http",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.scheduler.stop()
        self.delivery.stop()

    def wait(self) -> None:
        """Block until stop() is called (used by the management command)."""
        self.stopping.wait()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # ----------------------------------------------------------------- control

    def reset(self) -> None:
        """Forget every conference, call and journal entry; restore the starting faults."""
        with self.store.lock:
            self.store.reset()
            self.scheduler.clear()
            self.call_queue.reset()
            self.journal.clear()
            self.decider.replace(self.initial_faults)

    def set_faults(self, faults: Faults) -> None:
        self.decider.replace(faults)

    @property
    def faults(self) -> Faults:
        return self.decider.faults

    def requests(self, **filters: str) -> list[dict[str, Any]]:
        return self.journal.requests(filters)

    def callbacks(self, **filters: str) -> list[dict[str, Any]]:
        return self.journal.callbacks(filters)

    def subject_of(self, matched: Route) -> tuple[str | None, str | None, bool]:
        """The (To, label) a participant or call request is about, for fault targeting."""
        with self.store.lock:
            call = None
            if matched.call is not None:
                call = self.store.calls.get(matched.call)
            elif matched.participant is not None:
                conference = self.store.conferences.get(matched.conference or "")
                participant = conference.find_active(matched.participant) if conference else None
                call = self.store.calls.get(participant.call_sid) if participant else None
            if call is None:
                return None, None, False
            return call.to, self.store.participant_of(call).label, True

    def log(self, line: str) -> None:
        stream = self._log_stream
        if stream is None:
            return
        with self._log_lock:
            stream.write(f"{utcnow():%Y-%m-%dT%H:%M:%SZ} {line}\n")
            stream.flush()
