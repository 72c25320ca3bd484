"""Scheduled conferences through the API: planned, read, changed and canceled by the planning
page's form and services, so the same checks (errors naming the API's fields), the same
refusal once the dial-out begins (409), the same audit entries, and operators never see
another operator's events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from conferences.accounts import roles
from conferences.api.event_schemas import InviteesByRoleIn
from conferences.audit.trail import AuditAction
from conferences.events import dial_out
from conferences.models import ROLE_ORDER, AuditEntry, EventStatus, ScheduledConference, User
from tests.api.helpers import CALLER_ID, ApiClient, error_of, token_for
from tests.support.users import make_user

pytestmark = pytest.mark.django_db

INVITEES = {
    "host": [{"number": "+15005550006", "name": "Hana Host"}],
    "speaker": [{"number": "+15005550020", "name": "Sia Speaker"}],
    "listener": [
        {"number": "+15005552001", "name": "Lee Listener"},
        {"number": "+15005552002", "name": "Lou Listener"},
    ],
}


def event_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "earnings call",
        "starts_at": "2999-01-15T09:30:00-05:00",
        "time_zone": "America/New_York",
        "dial_lead_minutes": 2,
        "caller_id": CALLER_ID,
        "invitees": INVITEES,
    }
    body.update(changes)
    return {name: value for name, value in body.items() if value is not None}


def planned(api: ApiClient, **changes: Any) -> dict[str, Any]:
    made = api.post("/api/v1/events", event_body(**changes))
    assert made.status_code == 201, made.content
    return dict(made.json())


def test_a_planned_event_keeps_the_exact_start_and_reads_back_with_countdown_and_roles(
    operator: User, operator_api: ApiClient
) -> None:
    event = planned(operator_api)
    stored = ScheduledConference.objects.get()
    assert stored.starts_at == datetime(2999, 1, 15, 14, 30, tzinfo=UTC)
    assert stored.dial_at == datetime(2999, 1, 15, 14, 28, tzinfo=UTC)
    assert (stored.planned_by, stored.caller_id) == (operator, CALLER_ID)
    assert event["id"] == stored.pk
    assert event["status"] == "scheduled" and event["changeable"] is True
    assert event["starts_at_local"] == "2999-01-15T09:30:00-05:00"
    until_start = (stored.starts_at - timezone.now()).total_seconds()
    assert 0 < until_start - event["countdown_seconds"] < 60
    assert event["countdown_seconds"] - event["dial_out_in_seconds"] == 120
    assert [group["role"] for group in event["will_dial"]] == ["host", "speaker", "listener"]
    assert [p["name"] for p in event["will_dial"][2]["people"]] == ["Lee Listener", "Lou Listener"]
    assert event["will_dial_total"] == 4
    entry = AuditEntry.objects.get(action=AuditAction.PLAN_EVENT)
    assert (entry.actor, entry.detail["invitees"]) == (operator, 4)

    read = operator_api.get(f"/api/v1/events/{stored.pk}")
    assert read.status_code == 200
    assert read.json()["will_dial"] == event["will_dial"]
    listed = operator_api.get("/api/v1/events").json()
    assert [row["id"] for row in listed["upcoming"]] == [stored.pk]
    assert listed["live"] == [] and listed["ended"] == []


def test_a_start_without_an_offset_is_read_in_the_users_own_time_zone(
    redis_db: object,
) -> None:
    tokyo = make_user("taro", roles.OPERATOR, time_zone="Asia/Tokyo")
    api = ApiClient(token_for(tokyo))
    event = planned(api, starts_at="2999-01-15T09:30", time_zone=None, invitees={})
    assert event["time_zone"] == "Asia/Tokyo"
    assert event["starts_at"].startswith("2999-01-15T00:30:00")  # 09:30 JST in UTC
    assert event["will_dial"] == [] and event["will_dial_total"] == 0


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"starts_at": "2001-01-01T10:00:00Z"}, "starts_at", "far enough ahead"),
        ({"starts_at": "not a time"}, "starts_at", "Enter a valid date/time"),
        ({"starts_at": "0001-01-01T00:00:00+05:00"}, "starts_at", "out of range"),
        # The planning form's own words for a day it cannot compute with (core.inputs).
        (
            {"starts_at": "9999-12-31T23:59", "time_zone": "Etc/GMT+12"},
            "starts_at",
            "Dates must lie between",
        ),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "not an IANA time zone"),
        ({"dial_lead_minutes": 61}, "dial_lead_minutes", "less than or equal to 60"),
        ({"dial_lead_minutes": 1.5}, "dial_lead_minutes", "integer"),
        ({"caller_id": "+19999999999"}, "caller_id", "Select a valid choice"),
        (
            {"invitees": {"listener": [{"number": "call me", "name": "Bad"}]}},
            "invitees.listener",
            "Line 1",
        ),
        ({"invitees": {"guest": []}}, "invitees.guest", "Extra inputs"),
        ({"name": "a/b"}, "name", "cannot contain"),
        ({"colour": "red"}, "colour", "Extra inputs"),
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_nothing_is_planned(
    operator_api: ApiClient, changes: dict[str, Any], field: str, words: str
) -> None:
    answer = operator_api.post("/api/v1/events", event_body(**changes))
    assert answer.status_code == 422, answer.content
    problems = {problem["field"]: problem for problem in error_of(answer)["fields"]}
    assert field in problems, problems
    assert words in " ".join(problems[field]["messages"])
    assert not ScheduledConference.objects.exists()
    assert not AuditEntry.objects.filter(action=AuditAction.PLAN_EVENT).exists()


def test_the_caller_id_error_names_the_numbers_it_may_be(operator_api: ApiClient) -> None:
    answer = operator_api.post("/api/v1/events", event_body(caller_id="+19999999999"))
    (problem,) = error_of(answer)["fields"]
    assert problem["field"] == "caller_id" and CALLER_ID in problem["rule"]


def test_a_name_already_open_is_refused_by_the_planning_service(operator_api: ApiClient) -> None:
    planned(operator_api)
    again = operator_api.post("/api/v1/events", event_body())
    assert again.status_code == 422
    assert [problem["field"] for problem in error_of(again)["fields"]] == ["name"]
    assert ScheduledConference.objects.count() == 1


def test_a_change_moves_only_what_is_sent_and_adds_invitees_with_an_audit_entry(
    operator: User, operator_api: ApiClient
) -> None:
    event = planned(operator_api)
    url = f"/api/v1/events/{event['id']}"
    moved = operator_api.patch(
        url,
        {
            "starts_at": "2999-01-15T11:00",  # in the event's own zone, New York
            "dial_lead_minutes": 5,
            "invitees": {"listener": [{"number": "+15005552003", "name": "Lia"}]},
        },
    )
    assert moved.status_code == 200, moved.content
    body = moved.json()
    assert body["starts_at"].startswith("2999-01-15T16:00:00")
    assert body["dial_at"].startswith("2999-01-15T15:55:00")
    assert body["caller_id"] == CALLER_ID and body["conference"]["name"] == "earnings call"
    assert [p["name"] for p in body["will_dial"][2]["people"]][-1] == "Lia"
    assert AuditEntry.objects.get(action=AuditAction.EDIT_EVENT).actor == operator

    # Another zone alone keeps the instant; only how it is shown changes.
    shown = operator_api.patch(url, {"time_zone": "Europe/Berlin"}).json()
    assert shown["starts_at"] == body["starts_at"]
    assert shown["starts_at_local"] == "2999-01-15T17:00:00+01:00"

    renamed = operator_api.patch(url, {"name": "another"})
    assert renamed.status_code == 422
    assert error_of(renamed)["fields"][0]["field"] == "name"
    late = operator_api.patch(url, {"starts_at": "2000-01-01T00:00:00Z"})
    assert late.status_code == 422
    assert error_of(late)["fields"][0]["field"] == "starts_at"


def test_once_the_dial_out_has_begun_changes_and_cancels_are_a_409_and_change_nothing(
    operator_api: ApiClient,
) -> None:
    event = planned(operator_api)
    stored = ScheduledConference.objects.get()
    assert dial_out.claim_event(stored.pk, stored.dial_at)  # the beat takes it
    url = f"/api/v1/events/{event['id']}"
    edited = operator_api.patch(url, {"starts_at": "2999-02-01T10:00:00Z"})
    assert edited.status_code == 409
    assert error_of(edited)["code"] == "not_changeable"
    assert "dialing out" in error_of(edited)["message"]
    canceled = operator_api.post(f"{url}/cancel")
    assert canceled.status_code == 409
    stored.refresh_from_db()
    assert stored.status == EventStatus.DIALING
    assert stored.starts_at == datetime(2999, 1, 15, 14, 30, tzinfo=UTC)
    read = operator_api.get(url).json()
    assert (read["status"], read["changeable"], read["dial_out_in_seconds"]) == (
        "dialing",
        False,
        None,
    )
    assert not AuditEntry.objects.filter(
        action__in=[AuditAction.EDIT_EVENT, AuditAction.CANCEL_EVENT]
    ).exists()


def test_a_change_racing_a_due_dial_out_is_refused_by_the_service_with_409(
    operator_api: ApiClient,
) -> None:
    event = planned(operator_api)
    # Due, the beat not yet come: still `scheduled`, but the service's conditional UPDATE
    # (the same row the dial-out claims) refuses to move it.
    ScheduledConference.objects.update(dial_at=timezone.now() - timedelta(seconds=1))
    edited = operator_api.patch(
        f"/api/v1/events/{event['id']}", {"starts_at": "2999-02-01T10:00:00Z"}
    )
    assert edited.status_code == 409
    assert "can no longer change" in error_of(edited)["message"]
    assert ScheduledConference.objects.get().starts_at.year == 2999
    assert ScheduledConference.objects.get().starts_at.month == 1


def test_a_canceled_event_dials_nobody_is_audited_and_cannot_be_canceled_again(
    operator: User, operator_api: ApiClient
) -> None:
    event = planned(operator_api)
    url = f"/api/v1/events/{event['id']}/cancel"
    canceled = operator_api.post(url)
    assert canceled.status_code == 200
    body = canceled.json()
    assert (body["status"], body["canceled_by"], body["countdown_seconds"]) == (
        "canceled",
        operator.get_username(),
        None,
    )
    assert AuditEntry.objects.get(action=AuditAction.CANCEL_EVENT).actor == operator
    stored = ScheduledConference.objects.get()
    assert dial_out.due_event_ids(stored.starts_at + timedelta(days=1)) == []
    again = operator_api.post(url)
    assert again.status_code == 409 and "canceled" in error_of(again)["message"]
    listed = operator_api.get("/api/v1/events").json()
    assert listed["upcoming"] == [] and [row["id"] for row in listed["ended"]] == [event["id"]]


def test_an_operator_never_sees_or_changes_another_operators_event(
    operator_api: ApiClient, supervisor_api: ApiClient
) -> None:
    event = planned(operator_api)
    other = ApiClient(token_for(make_user("otto", roles.OPERATOR)))
    url = f"/api/v1/events/{event['id']}"
    assert other.get("/api/v1/events").json()["upcoming"] == []
    assert other.get(url).status_code == 404
    assert other.patch(url, {"dial_lead_minutes": 3}).status_code == 404
    cancel = other.post(f"{url}/cancel")
    assert cancel.status_code == 404 and error_of(cancel)["code"] == "not_found"
    assert ScheduledConference.objects.get().status == EventStatus.SCHEDULED
    # Supervisors see every event, numbers in full.
    seen = supervisor_api.get(url).json()
    assert seen["will_dial"][0]["people"][0]["number"] == "+15005550006"


def test_a_user_without_a_role_may_not_plan(redis_db: object) -> None:
    nobody = ApiClient(token_for(make_user("nadia", None)))
    answer = nobody.post("/api/v1/events", event_body())
    assert answer.status_code == 403 and error_of(answer)["code"] == "forbidden"
    assert nobody.get("/api/v1/events").status_code == 403


def test_the_role_lists_the_api_reads_are_the_roles_the_dial_out_knows() -> None:
    assert tuple(InviteesByRoleIn.model_fields) == ROLE_ORDER
