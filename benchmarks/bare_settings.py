"""Settings for the bare baselines: the benchmark URLs with no middleware at all, so the
bare insert view costs exactly its durable INSERT and nothing of the request pipeline."""

from __future__ import annotations

from benchmarks.bench_settings import *  # noqa: F403

MIDDLEWARE = []
