"""Per-token rate limits (429 with Retry-After); a request id on every answer, which no
browser or proxy stores."""

from __future__ import annotations

from typing import Any

import pytest

from conferences.accounts import roles
from conferences.api import auth
from conferences.models import User
from tests.api.helpers import ApiClient, error_of, token_for
from tests.support.users import make_user

pytestmark = pytest.mark.django_db


def test_a_token_over_its_limit_gets_429_with_retry_after_and_others_do_not(
    operator: User, redis_db: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a clock held 30 s into a window: on the real one, requests that straddle the
    turn of a minute would be counted in two windows (the test failed 1 run in ~1,000)."""
    window_start = 1_800_000_000.0
    now = window_start + 30.0
    monkeypatch.setattr(auth, "clock", lambda: now)
    settings.API_RATE_LIMIT_PER_MINUTE = 3
    busy = ApiClient(token_for(operator))
    quiet = ApiClient(token_for(make_user("otto", roles.OPERATOR)))
    answers = [busy.get("/api/v1/dials").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    limited = busy.get("/api/v1/dials")
    assert error_of(limited)["code"] == "rate_limited"
    assert int(limited["Retry-After"]) == 31  # the 30 s left in the window, and one more
    assert quiet.get("/api/v1/dials").status_code == 200

    now = window_start + auth.RATE_WINDOW_SECONDS  # the window turns
    assert busy.get("/api/v1/dials").status_code == 200


def test_every_answer_carries_a_request_id_is_private_and_errors_repeat_the_id(
    operator_api: ApiClient,
) -> None:
    ok = operator_api.get("/api/v1/dials")
    assert len(ok["X-Request-ID"]) >= 16
    assert "private" in ok["Cache-Control"] and "no-store" in ok["Cache-Control"]
    missing = operator_api.get("/api/v1/dials/999999")
    assert missing.status_code == 404
    assert error_of(missing)["code"] == "not_found"
    bad_filter = operator_api.get("/api/v1/dials", {"error_code": "soon"})
    assert bad_filter.status_code == 400
    assert error_of(bad_filter)["code"] == "invalid_filter"


def test_a_proxys_request_id_is_kept(operator_api: ApiClient) -> None:
    answer = operator_api.get("/api/v1/dials", **{"X-Request-ID": "crm-trace-0001"})
    assert answer["X-Request-ID"] == "crm-trace-0001"
