"""One background thread running timed actions from a heap, in due order."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)

Action = Callable[[], None]


class Scheduler:
    def __init__(self, name: str = "sandbox-scheduler") -> None:
        self._heap: list[tuple[float, int, Action]] = []
        self._order = itertools.count()
        self._wakeup = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._wakeup:
            self._stopping = True
            self._heap.clear()
            self._wakeup.notify()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def clear(self) -> None:
        with self._wakeup:
            self._heap.clear()

    def call_later(self, delay: float, action: Action) -> None:
        due = time.monotonic() + max(0.0, delay)
        with self._wakeup:
            heapq.heappush(self._heap, (due, next(self._order), action))
            self._wakeup.notify()

    def pending(self) -> int:
        with self._wakeup:
            return len(self._heap)

    def _run(self) -> None:
        while True:
            with self._wakeup:
                while not self._stopping and (
                    not self._heap or self._heap[0][0] > time.monotonic()
                ):
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._wakeup.wait(timeout)
                if self._stopping:
                    return
                _, _, action = heapq.heappop(self._heap)
            try:
                action()
            except Exception:
                # A failing step must not stop every other call in the sandbox.
                logger.exception("sandbox scheduled action failed")
