"""Fixtures more than one area uses, defined once.

An area opts in by importing them into its conftest.py (`from tests.support.fixtures import
sandbox, workers`); pytest then registers them for that folder only, so an area that does
not import them cannot use them by accident.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from tests.support.sandbox import running_sandbox
from tests.support.workers import Workers, worker_pool
from twilio_sandbox import Sandbox


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    # The user fixtures hash a password per test; the real hasher costs ~0.5 s a password.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A sandbox for this test alone, playing calls 50 times faster than real time."""
    with running_sandbox(speed=50.0, seed=7) as box:
        yield box


@pytest.fixture
def workers(
    transactional_db: None,
    live_server: Any,
    sandbox: Sandbox,
    settings: Any,
    redis_db: Any,
    artifacts_dir: Path,
) -> Iterator[Workers]:
    """A pool for this test: callbacks reach its live server, calls reach its sandbox.

    No worker runs until the test calls `workers.start()` (or `start_applier()`).
    """
    settings.PUBLIC_BASE_URL = live_server.url
    settings.TWILIO_API_BASE_URL = sandbox.url
    with worker_pool(
        connection.settings_dict,
        public_base_url=live_server.url,
        twilio_api_base_url=sandbox.url,
        log_dir=artifacts_dir,
        # More attempts than the default 6, so a dial still gets placed while the sandbox
        # fails a few requests (429s, delays); a killed worker's claim goes stale in seconds.
        DIAL_MAX_ATTEMPTS="10",
        DIAL_STALE_CLAIM_SECONDS="4",
    ) as pool:
        yield pool
