"""`manage.py apply_callbacks`: apply stored Twilio callbacks as they arrive (Procfile
`callbacks`), until SIGTERM or Ctrl-C.

The receiver only stores a callback (one INSERT); this process finds it through the
partial index of unapplied events, within `--poll-seconds`. It needs PostgreSQL (or SQLite)
and nothing else: live statuses keep moving while Redis is down. Several may run at once;
`SKIP LOCKED` shares the work.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, connection

from conferences.callbacks import applier as callback_applier

# After a database error (a restart, a failover), wait this long before trying again.
_RETRY_AFTER_ERROR_SECONDS = 1.0
# A batch smaller than this is a trickle: the applier waits as when idle, and the next
# batch holds what arrived meanwhile (one claim and one commit for many events). It costs
# an event at most the idle wait; a backlog (full batches) is applied without a pause.
_TRICKLE_BATCH = 20


class Command(BaseCommand):
    help = "Apply stored Twilio callbacks as they arrive, until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--poll-seconds",
            type=float,
            default=None,
            help="how often to look for new callbacks when idle "
            "(default: CALLBACK_APPLY_POLL_SECONDS)",
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            default=None,
            help="appliers in this process, each with its own database connection "
            "(default: CALLBACK_APPLY_CONCURRENCY)",
        )
        parser.add_argument("--once", action="store_true", help="apply what is waiting, then exit")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"]:
            callback_applier.apply_pending_callbacks(time_budget=60.0)
            return
        poll = options["poll_seconds"] or float(settings.CALLBACK_APPLY_POLL_SECONDS)
        concurrency = max(1, options["concurrency"] or int(settings.CALLBACK_APPLY_CONCURRENCY))
        stop = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        self.stdout.write(
            f"Applying stored callbacks with {concurrency} applier(s), "
            f"looking every {poll} s when idle."
        )
        # Most of an event's time is waiting for PostgreSQL (its commit above all), so a few
        # threads apply several at once; each takes its own event (SKIP LOCKED).
        # Idle, each applier looks every `poll * concurrency` seconds, their phases spread
        # evenly: together they look every `poll` seconds, not `concurrency` times as often.
        appliers = [
            threading.Thread(
                target=self._apply_until,
                args=(stop, n * poll, poll * concurrency),
                name=f"applier-{n}",
            )
            for n in range(concurrency)
        ]
        for applier in appliers:
            applier.start()
        while any(applier.is_alive() for applier in appliers):
            stop.wait(0.5)  # the main thread stays free to take the signal
        for applier in appliers:
            applier.join()

    def _apply_until(self, stop: threading.Event, phase: float, idle_wait: float) -> None:
        try:
            stop.wait(phase)
            while not stop.is_set():
                try:
                    report = callback_applier.apply_pending_callbacks(
                        time_budget=5.0, fill=_TRICKLE_BATCH
                    )
                except DatabaseError as error:
                    self.stderr.write(f"Database error, trying again shortly: {error}")
                    connection.close()  # a fresh connection next time, as after a restart
                    stop.wait(_RETRY_AFTER_ERROR_SECONDS)
                    continue
                if not report.more or report.trickle:
                    stop.wait(idle_wait)  # idle, or a trickle: look again soon
        finally:
            connection.close()  # this thread's own connection
