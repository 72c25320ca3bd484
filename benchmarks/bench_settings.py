"""Settings for benchmark servers: the app's own, plus a bare view to compare against."""

from __future__ import annotations

from dashboard.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.urls"
