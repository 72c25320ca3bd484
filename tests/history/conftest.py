"""Fixtures for the history tests; the sandbox, workers and browser checks come from the
pipeline and browser areas."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import browser_problems  # noqa: F401 -- fixtures used here too
from tests.pipeline.conftest import sandbox, workers  # noqa: F401


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    # Each test creates users; the real hasher costs ~0.5 s per password.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
