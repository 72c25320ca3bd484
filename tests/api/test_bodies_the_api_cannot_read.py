"""A body the API cannot read gets the error shape, never Django's HTML page: every
operation that takes a body is sent broken JSON, text that is not UTF-8, and a body over
DATA_UPLOAD_MAX_MEMORY_SIZE (refused by its Content-Length, before it is read)."""

from __future__ import annotations

from typing import Any

import pytest

from conferences.api.api import api
from conferences.live.forms import MAX_UPLOAD_BYTES
from conferences.models import DialRequest, Invitee, ScheduledConference, User
from tests.api.helpers import ApiClient, error_of
from tests.support.dialing import dial

pytestmark = pytest.mark.django_db


def _operations_with_a_body() -> list[tuple[str, str]]:
    document = api.get_openapi_schema()
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                found.append((method.upper(), path))
    return sorted(found)


OPERATIONS = _operations_with_a_body()


@pytest.fixture
def path_values(supervisor: User) -> dict[str, object]:
    """Rows that exist, so an operation that looks its row up first still reads the body."""
    conference = dial(supervisor, "+14155550100", conference="body-standup").conference
    assert conference is not None
    return {"conference_id": conference.pk, "call_sid": "CA" + "0" * 32, "event_id": 1}


def test_the_api_has_operations_with_a_body() -> None:
    assert ("POST", "/api/v1/dials") in OPERATIONS
    assert ("PUT", "/api/v1/conferences/{conference_id}/invitees") in OPERATIONS


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
@pytest.mark.parametrize(
    ("text", "status", "code"),
    [
        ('{"conference": "standup",', 400, "invalid_json"),
        ("\xff\xfe{}", 400, "invalid_json"),
    ],
    ids=["broken-json", "not-utf-8"],
)
def test_a_body_that_is_not_json_is_a_400_in_the_error_shape(
    supervisor_api: ApiClient,
    path_values: dict[str, object],
    method: str,
    path: str,
    text: str,
    status: int,
    code: str,
) -> None:
    answer = supervisor_api.send(method, path.format(**path_values), text, "application/json")
    assert answer.status_code == status, answer.content[:200]
    error = error_of(answer)
    assert error["code"] == code
    assert "not valid JSON" in error["message"]


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_a_body_over_the_limit_is_a_413_naming_it_and_nothing_is_stored(
    supervisor_api: ApiClient,
    path_values: dict[str, object],
    settings: Any,
    method: str,
    path: str,
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    dials_before = DialRequest.objects.count()
    answer = supervisor_api.send(
        method, path.format(**path_values), '{"To": "' + "1" * 20_000 + '"}', "application/json"
    )
    assert answer.status_code == 413, answer.content[:200]
    error = error_of(answer)
    assert error["code"] == "body_too_large"
    assert "10,000 bytes" in error["message"]
    assert DialRequest.objects.count() == dials_before
    assert not ScheduledConference.objects.exists() and not Invitee.objects.exists()


def test_an_invite_list_over_the_pages_upload_limit_is_the_same_413(
    supervisor_api: ApiClient, path_values: dict[str, object]
) -> None:
    rows = "+14155550100,Ann\n" * (MAX_UPLOAD_BYTES // 17 + 1)
    path = "/api/v1/conferences/{conference_id}/invitees".format(**path_values)
    answer = supervisor_api.send("PUT", path, rows, "text/csv")
    assert answer.status_code == 413
    assert error_of(answer)["code"] == "body_too_large"
    assert f"{MAX_UPLOAD_BYTES:,} bytes" in error_of(answer)["message"]
    assert not Invitee.objects.exists()
