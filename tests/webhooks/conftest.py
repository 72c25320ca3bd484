"""Fixtures for the webhook tests (helpers live in tests/webhooks/helpers.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from conferences.models import DialRequest, User

# Real Celery workers and the callbacks process, for the end-to-end tests here.
from tests.pipeline.conftest import workers  # noqa: F401
from tests.webhooks.helpers import TwilioSender, make_dial


@pytest.fixture
def twilio(client: Client) -> TwilioSender:
    return TwilioSender(client)


@pytest.fixture
def dial(operator: User) -> DialRequest:
    return make_dial(operator)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    # The operator fixture hashes a password per test; the real hasher costs ~0.5 s.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
