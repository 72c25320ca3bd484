"""GET /api/v1/dials: the history page's filters, newest first, paged by a signed cursor."""

from __future__ import annotations

import pytest

from conferences.models import User
from tests.api.helpers import ApiClient, error_of
from tests.support.dialing import dial

pytestmark = pytest.mark.django_db


def test_pages_follow_the_cursor_to_the_end_and_a_forged_cursor_is_refused(
    operator: User, operator_api: ApiClient
) -> None:
    made = [dial(operator, f"+1415555010{n}", conference="cursor-call").pk for n in range(5)]
    seen: list[int] = []
    after = ""
    while True:
        page = operator_api.get("/api/v1/dials", {"limit": 2, "after": after}).json()
        seen += [item["id"] for item in page["items"]]
        if not page["next_cursor"]:
            break
        after = page["next_cursor"]
    assert seen == sorted(made, reverse=True)
    forged = operator_api.get("/api/v1/dials", {"after": after[:-3] + "xyz"})
    assert forged.status_code == 400
    assert error_of(forged)["fields"][0]["field"] == "after"
    too_many = operator_api.get("/api/v1/dials", {"limit": 500})
    assert too_many.status_code == 422
    assert error_of(too_many)["fields"][0]["field"] == "limit"


def test_history_filters_narrow_the_list(operator: User, operator_api: ApiClient) -> None:
    dial(operator, "+14155550100", conference="alpha")
    beta = dial(operator, "+14155550101", conference="beta")
    found = operator_api.get("/api/v1/dials", {"conference": "beta"}).json()["items"]
    assert [item["id"] for item in found] == [beta.pk]
    assert found[0]["conference"]["name"] == "beta"
    assert found[0]["status"] == "pending"
    refused = operator_api.get("/api/v1/dials", {"from": "yesterday"})
    assert refused.status_code == 400
    assert error_of(refused)["code"] == "invalid_filter"
