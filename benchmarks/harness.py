"""What every benchmark needs: a fresh database, the app's processes, and a result table.

Benchmarks measure real work on this machine; targets are ratios against a baseline
measured in the same run, because absolute times depend on the machine.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BASE = Path(__file__).resolve().parent.parent
LOG_DIR = BASE / "var" / "bench"
BENCH_DATABASE = "dashboard_bench"
PG = "postgres://postgres@127.0.0.1:5432"


def scale() -> str:
    value = os.environ.get("BENCH_SCALE", "full")
    if value not in ("full", "small"):
        raise SystemExit(f"BENCH_SCALE must be full or small, not {value!r}")
    return value


@dataclass
class Figure:
    """One measured figure and its target."""

    benchmark: str
    name: str
    value: float
    target: str
    met: bool | None  # None: for information only
    unit: str = ""

    def shown_value(self) -> str:
        if abs(self.value) >= 100 or float(self.value).is_integer():
            return f"{self.value:,.0f}{self.unit}"
        return f"{self.value:.2f}{self.unit}"


@dataclass
class Results:
    figures: list[Figure] = field(default_factory=list)

    def add(
        self,
        benchmark: str,
        name: str,
        value: float,
        target: str = "",
        met: bool | None = None,
        unit: str = "",
    ) -> None:
        self.figures.append(Figure(benchmark, name, value, target, met, unit))
        print(
            f"  {name}: {Figure(benchmark, name, value, target, met, unit).shown_value()}"
            f"{'  (target ' + target + ')' if target else ''}",
            flush=True,
        )

    def table(self) -> str:
        rows = [("benchmark", "figure", "value", "target", "result")]
        for f in self.figures:
            result = "info" if f.met is None else ("met" if f.met else "SHORT")
            rows.append((f.benchmark, f.name, f.shown_value(), f.target or "-", result))
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        lines = []
        for index, row in enumerate(rows):
            lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)))
            if index == 0:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)

    @property
    def all_met(self) -> bool:
        return all(f.met is not False for f in self.figures)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Callable[[], Any], *, timeout: float, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"not ready within {timeout}s")


def bench_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        DJANGO_SETTINGS_MODULE="dashboard.settings",
        DATABASE_URL=f"{PG}/{BENCH_DATABASE}",
        REDIS_URL="redis://127.0.0.1:6379/15",
        CELERY_QUEUE="bench",
        DEBUG="false",
        SECURE_COOKIES="false",
        LOG_LEVEL="WARNING",
        TESTING="false",
    )
    env.update(extra)
    return env


def fresh_database(name: str = BENCH_DATABASE, env: dict[str, str] | None = None) -> None:
    """Drop and re-create the benchmark database (or `name`), then migrate it (with `env`)."""
    import psycopg

    if "django.db" in sys.modules:
        # An earlier benchmark of this run left its connection open: it is about to be
        # terminated with the database, so let Django open a new one when next asked.
        from django.db import connections

        connections.close_all()

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (name,),
        )
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=BASE,
        env=env or bench_env(),
        check=True,
    )


class Processes:
    """Child processes of one benchmark, each in its own session, all stopped at the end."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.children: list[subprocess.Popen[bytes]] = []
        self._labels: dict[int, str] = {}
        LOG_DIR.mkdir(parents=True, exist_ok=True)

    def labels(self) -> dict[int, str]:
        """The label of each started process, by PID."""
        return dict(self._labels)

    def start(self, label: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (LOG_DIR / f"{self.name}-{label}.log").open("wb")
        child = subprocess.Popen(
            argv, cwd=BASE, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.children.append(child)
        self._labels[child.pid] = label
        return child

    def stop(self) -> None:
        for child in self.children:
            if child.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGTERM)
        for child in self.children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)


@contextlib.contextmanager
def processes(name: str) -> Iterator[Processes]:
    group = Processes(name)
    try:
        yield group
    finally:
        group.stop()


def http_ready(url: str) -> Callable[[], bool]:
    import urllib.error
    import urllib.request

    def check() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 -- our own local server
                return True
        except (urllib.error.URLError, OSError):
            return False

    return check


def gunicorn(
    group: Processes,
    label: str,
    port: int,
    env: dict[str, str],
    workers: int = 2,
    app: str = "dashboard.wsgi:application",
) -> None:
    """The web tier as production runs it (same settings for every measured variant)."""
    group.start(
        label,
        [
            sys.executable,
            "-m",
            "gunicorn",
            app,
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--log-level",
            "warning",
        ],
        env,
    )
    wait_for(http_ready(f"http://127.0.0.1:{port}/healthz"), timeout=60)


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()
