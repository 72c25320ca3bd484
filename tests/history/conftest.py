"""Fixtures for the history tests: the sandbox and workers as the pipeline tests start
them (browser checks come from the root conftest)."""

from __future__ import annotations

from tests.support.fixtures import sandbox, workers  # noqa: F401 -- registered for this folder
