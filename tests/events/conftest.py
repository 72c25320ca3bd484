"""Fixtures for scheduled conferences: one sandbox and one worker pool for the package
(each start costs seconds), every test with the sandbox reset and fresh pacing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from tests.support.sandbox import running_sandbox
from tests.support.workers import Workers, forget_pacing, package_pool, settle
from twilio_sandbox import Sandbox


@pytest.fixture(scope="package")
def package_sandbox() -> Iterator[Sandbox]:
    with running_sandbox(speed=50.0, seed=21) as box:
        yield box


@pytest.fixture
def sandbox(package_sandbox: Sandbox) -> Sandbox:
    package_sandbox.reset()
    return package_sandbox


@pytest.fixture(scope="package")
def package_workers(
    django_db_setup: None, django_db_blocker: Any, live_server: Any, package_sandbox: Sandbox
) -> Iterator[Workers]:
    """Two real `celery worker` processes on this test run's database, Redis db and queue."""
    with django_db_blocker.unblock():
        db = connection.settings_dict
    with package_pool(
        db, public_base_url=live_server.url, sandbox=package_sandbox, name="events", concurrency=2
    ) as pool:
        yield pool


@pytest.fixture
def workers(
    transactional_db: None,
    package_workers: Workers,
    sandbox: Sandbox,
    live_server: Any,
    settings: Any,
) -> Iterator[Workers]:
    """Workers ready for this test; afterwards the sandbox falls silent before rows go."""
    settings.PUBLIC_BASE_URL = live_server.url
    settings.TWILIO_API_BASE_URL = sandbox.url
    forget_pacing()
    yield package_workers
    settle(sandbox)
