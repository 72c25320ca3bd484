"""Fixtures for the API tests: tokens for the usual users, a client that sends them, and
(for the tests that dial for real) the shared sandbox and worker fixtures."""

from __future__ import annotations

from typing import Any

import pytest

from conferences.models import User
from tests.api.helpers import ApiClient, token_for
from tests.support.fixtures import sandbox, workers  # noqa: F401 -- registered for this folder


@pytest.fixture(autouse=True)
def _generous_rate_limit(settings: Any) -> None:
    """Tests make many requests a minute; the rate limit test sets its own."""
    settings.API_RATE_LIMIT_PER_MINUTE = 100_000


@pytest.fixture
def operator_api(operator: User, redis_db: Any) -> ApiClient:
    return ApiClient(token_for(operator))


@pytest.fixture
def supervisor_api(supervisor: User, redis_db: Any) -> ApiClient:
    return ApiClient(token_for(supervisor))
