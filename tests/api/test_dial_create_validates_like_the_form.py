"""POST /api/v1/dials: the dial form's rules, in the API's error shape, and the same dial."""

from __future__ import annotations

import pytest

from conferences.accounts import roles
from conferences.audit.trail import AuditAction
from conferences.models import AuditEntry, DialRequest, User
from tests.api.helpers import CALLER_ID, ApiClient, error_of
from tests.support.dialing import dial
from tests.support.users import make_user

pytestmark = pytest.mark.django_db

GOOD = {"conference": "standup", "To": "+14155550100", "From": CALLER_ID}


def test_a_valid_dial_is_stored_audited_and_answered_with_its_story(
    operator: User, operator_api: ApiClient
) -> None:
    created = operator_api.post("/api/v1/dials", {**GOOD, "Muted": True, "Timeout": 30})
    assert created.status_code == 201
    body = created.json()
    dial = DialRequest.objects.get(pk=body["id"])
    assert dial.operator == operator
    assert body["status"] == "pending"
    assert body["conference"]["name"] == "standup"
    assert dial.params["Muted"] == "true"
    assert dial.params["Timeout"] == "30"
    assert AuditEntry.objects.filter(dial=dial, action=AuditAction.DIAL, actor=operator).exists()


def test_a_value_outside_twilios_range_names_the_parameter_and_the_rule(
    operator_api: ApiClient,
) -> None:
    refused = operator_api.post(
        "/api/v1/dials", {**GOOD, "MachineDetection": "Enable", "MachineDetectionTimeout": 60}
    )
    assert refused.status_code == 422
    error = error_of(refused)
    fields = {field["field"]: field for field in error["fields"]}
    assert set(fields) == {"MachineDetectionTimeout"}
    assert "3 to 59" in fields["MachineDetectionTimeout"]["rule"]
    assert fields["MachineDetectionTimeout"]["messages"]
    assert not DialRequest.objects.exists()


def test_the_forms_cross_field_rules_and_number_checks_apply(operator_api: ApiClient) -> None:
    refused = operator_api.post("/api/v1/dials", {**GOOD, "To": "12", "SipAuthUsername": "alice"})
    assert refused.status_code == 422
    named = {field["field"] for field in error_of(refused)["fields"]}
    assert "To" in named


def test_an_unknown_parameter_or_a_wrong_type_is_refused_by_name(operator_api: ApiClient) -> None:
    unknown = operator_api.post("/api/v1/dials", {**GOOD, "Speed": "fast"})
    assert unknown.status_code == 422
    assert [field["field"] for field in error_of(unknown)["fields"]] == ["Speed"]
    wrong_type = operator_api.post("/api/v1/dials", {**GOOD, "Timeout": "soon"})
    assert wrong_type.status_code == 422
    (field,) = error_of(wrong_type)["fields"]
    assert field["field"] == "Timeout"
    assert "5 to 600" in field["rule"]


def test_a_label_already_used_in_the_conference_is_a_409_with_a_free_one(
    operator_api: ApiClient,
) -> None:
    assert operator_api.post("/api/v1/dials", {**GOOD, "Label": "bob"}).status_code == 201
    again = operator_api.post("/api/v1/dials", {**GOOD, "Label": "bob"})
    assert again.status_code == 409
    error = error_of(again)
    assert error["code"] == "label_in_use"
    assert error["fields"][0]["field"] == "Label"
    assert "bob-2" in error["message"]


def test_dialing_into_a_conference_another_operator_runs_is_refused_and_audited(
    operator: User, operator_api: ApiClient
) -> None:
    other = make_user("otto", roles.OPERATOR)
    dial(other, "+14155550101", conference="otto's room")
    refused = operator_api.post("/api/v1/dials", {**GOOD, "conference": "otto's room"})
    assert refused.status_code == 403
    error = error_of(refused)
    assert error["code"] == "conference_refused"
    assert error["fields"][0]["field"] == "conference"
    assert AuditEntry.objects.filter(
        action=AuditAction.DIAL, actor=operator, outcome="refused"
    ).exists()
    assert not DialRequest.objects.filter(operator=operator).exists()
