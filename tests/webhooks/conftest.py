"""Fixtures for the webhook tests (helpers live in tests/webhooks/helpers.py and
tests/support/callbacks.py)."""

from __future__ import annotations

import pytest
from django.test import Client

from conferences.models import DialRequest, User
from tests.support.callbacks import TwilioSender, make_dial

# Real Celery workers and the callbacks process, for the end-to-end tests here (with the
# sandbox that test module starts itself).
from tests.support.fixtures import workers  # noqa: F401 -- registered for this folder


@pytest.fixture
def twilio(client: Client) -> TwilioSender:
    return TwilioSender(client)


@pytest.fixture
def dial(operator: User) -> DialRequest:
    return make_dial(operator)
