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

from conferences import callbacks

# After a database error (a restart, a failover), wait this long before trying again.
_RETRY_AFTER_ERROR_SECONDS = 1.0


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
        parser.add_argument("--once", action="store_true", help="apply what is waiting, then exit")

    def handle(self, *args: Any, **options: Any) -> None:
        poll = options["poll_seconds"] or float(settings.CALLBACK_APPLY_POLL_SECONDS)
        stop = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        if not options["once"]:
            self.stdout.write(f"Applying stored callbacks (looking every {poll} s when idle).")
        while not stop.is_set():
            try:
                report = callbacks.apply_pending_callbacks(time_budget=5.0)
            except DatabaseError as error:
                self.stderr.write(f"Database error, trying again shortly: {error}")
                connection.close()  # a fresh connection next time, as after a restart
                stop.wait(_RETRY_AFTER_ERROR_SECONDS)
                continue
            if options["once"]:
                return
            if not report.more:
                stop.wait(poll)  # idle: the partial index is empty, look again soon
