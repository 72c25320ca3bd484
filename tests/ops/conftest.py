"""Fixtures for the operations tests (helpers live in tests/ops/helpers.py)."""

from __future__ import annotations

from typing import Any

import pytest

# Shared fixtures, imported so pytest finds them here: console errors and CSP violations
# fail a browser test; the sandbox and real Celery workers as the pipeline tests start them.
from tests.browser.conftest import browser_problems  # noqa: F401
from tests.pipeline.conftest import sandbox, workers  # noqa: F401


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    # Every test makes users; the real hasher costs ~0.5 s a password.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
