"""Invite lists through the API (JSON or CSV, check, replace, add) and live actions through
the live page's services: the same checks, refusals and audit entries."""

from __future__ import annotations

import pytest

from conferences.audit.trail import AuditAction
from conferences.live import actions as live_actions
from conferences.models import AuditEntry, Conference, Invitee, User
from tests.api.helpers import ApiClient, error_of
from tests.support.sandbox import running_sandbox

pytestmark = pytest.mark.django_db


def _planned(api: ApiClient, name: str = "weekly") -> int:
    made = api.post("/api/v1/conferences", {"name": name})
    assert made.status_code == 201
    return int(made.json()["id"])


def test_checking_a_list_reports_each_rows_problems_and_stores_nothing(
    operator_api: ApiClient,
) -> None:
    room = _planned(operator_api)
    checked = operator_api.post(
        f"/api/v1/conferences/{room}/invitees/check",
        {"invitees": [{"number": "+14155550100", "name": "Ann"}, {"number": "12", "name": "Bo"}]},
    )
    assert checked.status_code == 200
    body = checked.json()
    assert body["ok"] is False
    assert [row["ok"] for row in body["rows"]] == [True, False]
    assert body["rows"][1]["problems"]
    assert not Invitee.objects.exists()


def test_json_and_csv_lists_add_and_replace_invitees(operator_api: ApiClient) -> None:
    room = _planned(operator_api)
    added = operator_api.post(
        f"/api/v1/conferences/{room}/invitees",
        {"invitees": [{"number": "+14155550100", "name": "Ann, of Accounts"}]},
    )
    assert added.status_code == 200
    assert added.json()["added"] == 1
    assert Invitee.objects.get().name == "Ann, of Accounts"
    replaced = operator_api.send(
        "PUT",
        f"/api/v1/conferences/{room}/invitees",
        "+14155550101,Bea\n+14155550102,Cy\n",
        "text/csv",
    )
    assert replaced.status_code == 200
    assert replaced.json()["removed"] == 1
    assert replaced.json()["added"] == 2
    listed = operator_api.get(f"/api/v1/conferences/{room}/invitees").json()
    assert [row["name"] for row in listed["invitees"]] == ["Bea", "Cy"]
    assert {row["state"] for row in listed["invitees"]} == {"not-dialed"}


def test_a_list_in_another_media_type_is_a_415(operator_api: ApiClient) -> None:
    room = _planned(operator_api)
    sent = operator_api.send("POST", f"/api/v1/conferences/{room}/invitees", "<x/>", "text/xml")
    assert sent.status_code == 415
    assert error_of(sent)["code"] == "unsupported_media_type"


def test_dial_all_refuses_a_caller_id_the_account_does_not_have(operator_api: ApiClient) -> None:
    room = _planned(operator_api)
    refused = operator_api.post(f"/api/v1/conferences/{room}/dial-all", {"caller_id": "+1999"})
    assert refused.status_code == 422
    assert error_of(refused)["fields"][0]["field"] == "caller_id"


def test_live_actions_go_through_the_live_services_and_their_refusals(
    operator: User, operator_api: ApiClient
) -> None:
    room = _planned(operator_api)
    # Not started at Twilio yet: the live service refuses, and the API says why.
    muted = operator_api.post(
        f"/api/v1/conferences/{room}/participants/CA" + "0" * 32, {"action": "mute"}
    )
    assert muted.status_code == 409
    assert "has not started" in error_of(muted)["message"]
    announced = operator_api.post(
        f"/api/v1/conferences/{room}/announce", {"url": "not a url", "method": "GET"}
    )
    assert announced.status_code == 422
    assert error_of(announced)["fields"][0]["field"] == "url"


def test_an_announcement_is_audited_like_the_pages_even_when_twilio_fails(
    supervisor: User, supervisor_api: ApiClient, settings: object
) -> None:
    conference = live_actions.open_conference(user=supervisor, friendly_name="town hall")
    Conference.objects.filter(pk=conference.pk).update(sid="CF" + "a" * 32)
    # No Twilio answers at this address: the service records a failed action, as on the page.
    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"  # type: ignore[attr-defined]
    answered = supervisor_api.post(
        f"/api/v1/conferences/{conference.pk}/announce",
        {"url": "https://example.com/hello.mp3"},
    )
    assert answered.status_code == 502
    assert error_of(answered)["code"] == "twilio_failed"
    entry = AuditEntry.objects.get(action=AuditAction.ANNOUNCE, dial__isnull=True)
    assert entry.actor == supervisor
    assert entry.outcome == "failed"


def test_an_action_twilio_refuses_is_a_conflict_in_twilios_words_not_a_server_error(
    supervisor: User, supervisor_api: ApiClient, settings: object
) -> None:
    conference = live_actions.open_conference(user=supervisor, friendly_name="gone already")
    Conference.objects.filter(pk=conference.pk).update(sid="CF" + "b" * 32)
    with running_sandbox(speed=50.0) as twilio:  # it knows no such conference: 404 (20404)
        settings.TWILIO_API_BASE_URL = twilio.url  # type: ignore[attr-defined]
        answered = supervisor_api.post(f"/api/v1/conferences/{conference.pk}/end", {})
    assert answered.status_code == 409
    error = error_of(answered)
    assert error["code"] == "twilio_refused"
    assert "Could not end the conference" in error["message"]
    entry = AuditEntry.objects.get(action=AuditAction.END_CONFERENCE)
    assert entry.outcome == "failed"
