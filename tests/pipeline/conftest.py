"""Real Celery workers against real Redis, the real sandbox and this test's database
(the fixtures are shared with other areas: tests/support/fixtures.py)."""

from __future__ import annotations

from tests.support.fixtures import sandbox, workers  # noqa: F401 -- registered for this folder
