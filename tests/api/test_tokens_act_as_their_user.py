"""Personal API tokens: shown once, kept as a digest, revoked at once, scoped by role."""

from __future__ import annotations

import hashlib

import pytest
from django.test import Client
from django.urls import reverse

from conferences.accounts import roles
from conferences.api import tokens
from conferences.api.tokens import TOKEN_PATTERN
from conferences.models import ApiToken, Conference, DialRequest, User
from tests.api.helpers import ApiClient, error_of, token_for
from tests.support.dialing import dial
from tests.support.users import make_user

pytestmark = pytest.mark.django_db


def _signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_tokens_page_shows_a_new_token_once_and_keeps_only_its_digest(
    operator: User, redis_db: object
) -> None:
    page = _signed_in(operator)
    made = page.post(reverse("conferences:api-token-create"), {"name": "CRM sync"})
    assert made.status_code == 201
    secret = TOKEN_PATTERN.search(made.content.decode())
    assert secret is not None
    stored = ApiToken.objects.get(user=operator)
    assert stored.name == "CRM sync"
    assert stored.secret_sha256 == hashlib.sha256(secret.group().encode()).hexdigest()
    every_column = " ".join(str(value) for value in vars(stored).values())
    assert secret.group() not in every_column
    assert secret["secret"] not in every_column
    again = page.get(reverse("conferences:api-tokens"))
    assert secret.group() not in again.content.decode()
    assert "private" in again["Cache-Control"] and "no-store" in again["Cache-Control"]
    assert stored.last_used_at is None
    assert ApiClient(secret.group()).get("/api/v1/dials").status_code == 200
    stored.refresh_from_db()
    assert stored.last_used_at is not None
    listed = page.get(reverse("conferences:api-tokens")).content.decode()
    assert "never" not in listed.split("CRM sync", 1)[1]


def test_a_revoked_token_is_refused_on_its_very_next_request(
    operator: User, redis_db: object
) -> None:
    api = ApiClient(token_for(operator))
    assert api.get("/api/v1/dials").status_code == 200
    token = ApiToken.objects.get(user=operator)
    _signed_in(operator).post(reverse("conferences:api-token-revoke", args=[token.pk]))
    refused = api.get("/api/v1/dials")
    assert refused.status_code == 401
    assert error_of(refused)["code"] == "unauthorized"


def test_staff_revoke_anyones_token_and_operators_only_their_own(
    operator: User, supervisor: User, redis_db: object
) -> None:
    other = make_user("otto", roles.OPERATOR)
    others_api = ApiClient(token_for(other))
    others_token = ApiToken.objects.get(user=other)
    stranger = _signed_in(operator).post(
        reverse("conferences:api-token-revoke", args=[others_token.pk])
    )
    assert stranger.status_code == 404
    assert others_api.get("/api/v1/dials").status_code == 200
    _signed_in(supervisor).post(reverse("conferences:api-token-revoke", args=[others_token.pk]))
    others_token.refresh_from_db()
    assert others_token.revoked_by == supervisor
    assert others_api.get("/api/v1/dials").status_code == 401


def test_a_wrong_or_missing_token_answers_401_in_the_error_shape(operator: User) -> None:
    real = token_for(operator)
    tampered = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")
    for header in ({}, {"Authorization": f"Bearer {tampered}"}, {"Authorization": "Bearer x"}):
        response = Client().get("/api/v1/dials", headers=header)
        assert response.status_code == 401
        assert error_of(response)["code"] == "unauthorized"
        assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "random_part", ["_" + "a" * 42, "b" * 42 + "_", "-" * 43, "_" * 43, "c_" * 21 + "d"]
)
def test_a_token_whose_random_part_holds_underscores_works_and_is_kept_only_as_a_digest(
    operator: User, redis_db: object, monkeypatch: pytest.MonkeyPatch, random_part: str
) -> None:
    """The random part is URL-safe base64: 1 token in 64 starts with "_", and anything
    that splits the token on "_" loses it (a test once did, and failed now and then)."""
    monkeypatch.setattr(tokens.secrets, "token_urlsafe", lambda _bytes: random_part)
    made = _signed_in(operator).post(reverse("conferences:api-token-create"), {"name": "CRM sync"})
    shown = TOKEN_PATTERN.search(made.content.decode())
    assert shown is not None and shown["secret"] == random_part
    stored = ApiToken.objects.get(user=operator)
    assert shown["prefix"] == stored.prefix
    assert random_part not in " ".join(str(value) for value in vars(stored).values())
    assert ApiClient(shown.group()).get("/api/v1/dials").status_code == 200
    cut_short = shown.group()[:-1]
    assert ApiClient(cut_short).get("/api/v1/dials").status_code == 401


def test_an_operator_token_cannot_read_another_operators_dials(
    operator: User, operator_api: ApiClient, supervisor_api: ApiClient
) -> None:
    other = make_user("otto", roles.OPERATOR)
    theirs = dial(other, "+14155550101", conference="otto-standup")
    mine = dial(operator, "+14155550102", conference="olivia-standup")

    assert operator_api.get(f"/api/v1/dials/{theirs.pk}").status_code == 404
    assert operator_api.get(f"/api/v1/dials/{mine.pk}").status_code == 200
    listed = [item["id"] for item in operator_api.get("/api/v1/dials").json()["items"]]
    assert listed == [mine.pk]
    supervisors = {item["id"] for item in supervisor_api.get("/api/v1/dials").json()["items"]}
    assert supervisors == {mine.pk, theirs.pk}
    otto_conference = Conference.objects.get(friendly_name="otto-standup")
    assert operator_api.get(f"/api/v1/conferences/{otto_conference.pk}").status_code == 404


def test_an_operator_token_gets_403_where_the_role_table_says_no(
    operator: User, operator_api: ApiClient
) -> None:
    mine = dial(operator, "+14155550102", conference="olivia-standup")
    assert not roles.user_can(operator, "end_conference")
    ended = operator_api.post(f"/api/v1/conferences/{mine.conference_id}/end")
    assert ended.status_code == 403
    assert error_of(ended)["code"] == "forbidden"


def test_a_token_of_a_user_without_a_role_can_do_nothing(redis_db: object) -> None:
    nobody = make_user("nora", None)
    api = ApiClient(token_for(nobody))
    created = api.post(
        "/api/v1/dials", {"conference": "x", "To": "+14155550100", "From": "+15005550006"}
    )
    assert created.status_code == 403
    assert api.get("/api/v1/dials").json()["items"] == []
    assert api.get("/api/v1/conferences").status_code == 403
    assert not DialRequest.objects.exists()


def test_a_signed_in_browser_without_a_token_gets_nothing_from_the_api(
    operator: User, redis_db: object
) -> None:
    """The API takes no session cookie, which is why its views need no CSRF token: a page
    elsewhere cannot make a signed-in browser act through it."""
    browser = _signed_in(operator)
    dialed = browser.post(
        "/api/v1/dials",
        {"conference": "board", "To": "+15005550006", "From": "+15005550006"},
        content_type="application/json",
    )
    assert dialed.status_code == 401
    assert browser.get("/api/v1/dials").status_code == 401
    assert not DialRequest.objects.exists()
