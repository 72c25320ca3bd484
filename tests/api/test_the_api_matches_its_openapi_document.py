"""The OpenAPI document is valid, describes every route, and the API keeps to it: schemathesis
sends generated requests to every operation (through the real WSGI stack, with a real token)
and checks no answer is a 5xx and every answer matches the document."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from conferences.api.api import api
from conferences.events import planning
from conferences.models import User
from tests.api.helpers import CALLER_ID, token_for
from tests.support.dialing import dial

OPENAPI_URL = "/api/v1/openapi.json"
# What the issue asks of every answer: never a 5xx, and what the document says. (Not
# "negative data rejected": the token is added to every request here, so a case generated
# without its Authorization header still carries one.)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture
def supervisor_token(db: None, supervisor: User, redis_db: Any) -> Iterator[str]:
    """The widest role's token, and one dial so some ids exist.

    Requests run inside the test's transaction, so the end of a request must not close the
    database connection (Django's test client unhooks the same signal handler)."""
    dial(supervisor, "+14155550100", conference="schema-standup")
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield token_for(supervisor)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def known_ids(supervisor_token: str, supervisor: User) -> dict[str, int]:
    """Rows that exist, by the path parameter naming them: generated ids alone would only
    ever reach 404s, never an operation's work (an edit's checks, a cancel, a 409)."""
    event = planning.plan_event(
        user=supervisor,
        plan=planning.EventPlan(
            friendly_name="schema-review",
            starts_at=datetime(2999, 1, 15, 14, 30, tzinfo=UTC),
            time_zone="Europe/Berlin",
            dial_lead_seconds=120,
            caller_id=CALLER_ID,
            lists={"host": "+14155550100, Hana Host"},
        ),
    )
    return {"event_id": event.pk}


# The document as the app serves it, fetched through the WSGI stack at collection (the
# document is built from the code alone, so no database is needed to serve it).
document = schemathesis.openapi.from_wsgi(OPENAPI_URL, WSGIHandler())


@document.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,  # the same cases every run: a failure here is never luck
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_operation_keeps_to_the_document(
    case: Any, supervisor_token: str, known_ids: dict[str, int]
) -> None:
    for name, known in known_ids.items():
        # Every even generated id names the row that exists (the same cases every run).
        generated = case.path_parameters.get(name)
        if isinstance(generated, int) and generated % 2 == 0:
            case.path_parameters[name] = known
    case.call_and_validate(headers={"Authorization": f"Bearer {supervisor_token}"}, checks=CHECKS)


@pytest.mark.django_db
def test_the_document_is_valid_openapi_3_and_names_every_route() -> None:
    served = Client().get(OPENAPI_URL)
    assert served.status_code == 200
    doc = json.loads(served.content)
    assert doc["openapi"].startswith("3.")
    assert len({op for path in doc["paths"].values() for op in path}) >= 3
    operations = [(path, method) for path, ops in doc["paths"].items() for method in ops]
    assert len(operations) == sum(len(view.operations) for _, _, view in _path_views())
    # Valid against the OpenAPI meta-schema of its version (schemathesis carries them).
    schemathesis.openapi.from_dict(doc).validate()
    assert "ErrorResponse" in doc["components"]["schemas"]
    assert doc["components"]["securitySchemes"]["TokenAuth"]["scheme"] == "bearer"


def _path_views() -> list[tuple[str, str, Any]]:
    return [
        (prefix, path, view)
        for prefix, router in api._routers
        for path, view in router.path_operations.items()
    ]
