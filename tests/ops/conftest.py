"""Fixtures for the operations tests (helpers live in tests/ops/helpers.py)."""

from __future__ import annotations

# The sandbox and real Celery workers as the pipeline tests start them; console errors and
# CSP violations fail a browser test through the root conftest's browser_problems.
from tests.support.fixtures import sandbox, workers  # noqa: F401 -- registered for this folder
