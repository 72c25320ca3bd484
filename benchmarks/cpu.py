"""Where the CPU of a benchmark went: each of its processes (with every descendant: pool
processes, gunicorn workers), the PostgreSQL backends serving its database, and this
process (the sandbox runs in it), read from /proc while the measured work runs.

On a machine whose cores are all busy, calls/s says only that something is short; this
says what: the CPU each tier spends per unit of work, which is also what sizing needs.
"""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict
from pathlib import Path

from benchmarks.harness import BENCH_DATABASE, Processes

_TICKS = os.sysconf("SC_CLK_TCK")
SANDBOX = "sandbox (this process)"
POSTGRES = "postgres"
SAMPLE_EVERY_SECONDS = 0.25


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds used) of a live process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS


def _serves_bench_database(pid: int, database: str) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return command.startswith(b"postgres: ") and f" {database} ".encode() in command


class CpuMeter:
    """CPU seconds by tier between `start()` and `stop()`, sampled every
    SAMPLE_EVERY_SECONDS: a process that ends between two samples loses at most that
    interval's share."""

    def __init__(self, group: Processes, *, database: str = BENCH_DATABASE) -> None:
        self.group = group
        self.database = database
        self.used: defaultdict[str, float] = defaultdict(float)
        self.wall = 0.0
        self._seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-meter", daemon=True)
        self._started = 0.0

    def _tier(
        self, pid: int, parents: dict[int, int], roots: dict[int, str], own: int
    ) -> str | None:
        """The tier of a process: the label of the started process it descends from, this
        process itself, or a PostgreSQL backend of the database; None for anything else."""
        hop = pid
        for _ in range(8):  # pool processes are at most a few levels down
            if hop in roots:
                return roots[hop]
            if hop == own:
                return SANDBOX if pid == own else None  # the bench's own helpers: not ours
            hop = parents.get(hop, 0)
            if hop <= 1:
                break
        return POSTGRES if _serves_bench_database(pid, self.database) else None

    def _sample(self, *, count: bool) -> None:
        stats = {pid: s for pid in _pids() if (s := _stat(pid)) is not None}
        parents = {pid: parent for pid, (parent, _) in stats.items()}
        roots, own = self.group.labels(), os.getpid()
        for pid, (_, used) in stats.items():
            tier = self._tier(pid, parents, roots, own)
            if tier is None:
                continue
            before = self._seen.get(pid, 0.0 if count else used)
            if count:
                self.used[tier] += used - before
            self._seen[pid] = used

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_SECONDS):
            self._sample(count=True)

    def start(self) -> None:
        self._sample(count=False)
        self._started = time.monotonic()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._sample(count=True)
        self.wall = time.monotonic() - self._started

    @property
    def cores_busy(self) -> float:
        """Cores' worth of CPU the measured tiers used, on average."""
        return sum(self.used.values()) / self.wall if self.wall else 0.0


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]
