"""The receiver's one statement: no health-check round trip, and a dead connection is
reconnected and the insert run again (it is idempotent), never a lost callback."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from django.db import connection

from conferences.accounts import twilio_accounts
from conferences.models import CallbackEvent, DialRequest
from tests.support.callbacks import TwilioSender

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def store_only(client: Any) -> TwilioSender:
    return TwilioSender(client, apply=False)


def _request_starts(dial: DialRequest) -> None:
    """What Django does when a request starts with a persistent connection and
    CONN_HEALTH_CHECKS: the next query is preceded by a health check. The account's tokens
    are cached, as they are in a running server, so storing is the request's only query."""
    twilio_accounts.signing_tokens(dial.account.account_sid)
    connection.ensure_connection()
    connection.health_check_enabled = True  # type: ignore[attr-defined]
    connection.health_check_done = False  # type: ignore[attr-defined]


def test_storing_a_callback_skips_the_per_request_health_check(store_only, dial, monkeypatch):
    _request_starts(dial)
    checks: list[bool] = []
    real_is_usable = connection.is_usable

    def counted_is_usable() -> bool:
        checks.append(True)
        return bool(real_is_usable())

    monkeypatch.setattr(connection, "is_usable", counted_is_usable)

    assert store_only.fixture(dial, "call-status-ringing").status_code == 204

    assert checks == []
    assert CallbackEvent.objects.count() == 1


def test_a_callback_arriving_on_a_dead_connection_is_still_stored(store_only, dial):
    _request_starts(dial)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    db = connection.settings_dict
    # As a database restart would: the server ends this process's connection.
    with psycopg.connect(
        host=db["HOST"],
        port=db["PORT"] or 5432,
        user=db["USER"],
        dbname=db["NAME"],
        autocommit=True,
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

    assert store_only.fixture(dial, "call-status-ringing").status_code == 204
    assert CallbackEvent.objects.filter(event="ringing").count() == 1
