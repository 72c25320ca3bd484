"""Nine inputs that answered 500 (issue 18, finding 5): each gets a clear error where it was
typed and stores nothing. The rules live in conferences/core/inputs.py (text a column can
hold, days the date arithmetic can handle); the property test beside this one feeds
every form and filter of every page."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from conferences.accounts.twilio_accounts import default_account
from conferences.core import inputs
from conferences.models import Conference, DialPreset, Invitee, User
from tests.live.helpers import client_for

pytestmark = pytest.mark.django_db

NUL = "\x00"
FAR_DAYS = ["9999-12-31", "0001-01-01"]
HISTORY_PAGES = ["conferences:history", "conferences:history-overview"]


@pytest.fixture
def room(operator: User) -> Conference:
    return Conference.objects.create(
        account=default_account(), friendly_name="standup", created_by=operator
    )


@pytest.mark.parametrize("page", HISTORY_PAGES)
@pytest.mark.parametrize("name", ["conference", "label"])
def test_nul_in_a_history_text_filter_is_named_on_the_page(supervisor: User, page, name):
    answer = client_for(supervisor).get(reverse(page), {name: f"stand{NUL}up"})
    assert answer.status_code == 200
    assert "Null characters are not allowed." in answer.content.decode()


@pytest.mark.parametrize("page", HISTORY_PAGES)
@pytest.mark.parametrize("bound", ["from", "to"])
@pytest.mark.parametrize("day", FAR_DAYS)
def test_a_day_beyond_the_calendar_the_app_computes_with_is_named_on_the_page(
    supervisor: User, page, bound, day
):
    answer = client_for(supervisor).get(reverse(page), {bound: day})
    assert answer.status_code == 200
    assert inputs.DAY_RANGE_MESSAGE in answer.content.decode()


@pytest.mark.parametrize(
    "query", [{"conference": f"a{NUL}"}, {"label": f"a{NUL}"}, {"from": "9999-12-31"}]
)
def test_the_export_refuses_a_filter_it_cannot_use_instead_of_exporting_more(
    supervisor: User, query
):
    answer = client_for(supervisor).get(reverse("conferences:history-export"), query)
    assert answer.status_code == 400
    assert answer.content.decode().startswith("Nothing exported; fix the filters first:")


@pytest.mark.parametrize("field", ["date_from", "date_to"])
@pytest.mark.parametrize("day", FAR_DAYS)
def test_the_audit_page_names_a_day_out_of_range_at_its_field(supervisor: User, field, day):
    answer = client_for(supervisor).get(reverse("conferences:audit-trail"), {field: day})
    assert answer.status_code == 200
    assert inputs.DAY_RANGE_MESSAGE in answer.content.decode()


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("x" * 81, "Ensure this value has at most 80 characters (it has 81)."),
        (f"my{NUL}preset", "Null characters are not allowed."),
    ],
)
def test_a_preset_name_its_column_cannot_hold_is_refused_in_the_form(operator: User, name, says):
    answer = client_for(operator).post(
        reverse("conferences:dial-submit"),
        {"action": "save-preset", "preset_name": name, "conference": "standup"},
        HTTP_HX_REQUEST="true",
    )
    assert answer.status_code == 200
    assert says in answer.content.decode()
    assert not DialPreset.objects.exists()


def preview(operator: User, room: Conference, text: str, step: str = "check") -> str:
    url = reverse("conferences:invitees-import", args=[room.pk])
    answer = client_for(operator).post(url, {"step": step, "text": text}, HTTP_HX_REQUEST="true")
    assert answer.status_code < 500
    return answer.content.decode()


def test_an_invite_list_preset_longer_than_its_column_is_a_row_problem(operator, room):
    text = "+14155550100, Alice, , " + "p" * 81
    assert "Preset: Ensure this value has at most 80 characters (it has 81)." in preview(
        operator, room, text
    )
    preview(operator, room, text, step="confirm")
    assert not Invitee.objects.exists()


def test_an_invite_list_cell_over_the_csv_field_limit_is_a_list_problem(operator, room):
    text = "+14155550100, Alice, " + "x" * (140 * 1024)
    assert "The list cannot be read as CSV: field larger than field limit" in preview(
        operator, room, text
    )
    preview(operator, room, text, step="confirm")
    assert not Invitee.objects.exists()


def test_nul_in_typed_invite_list_text_is_refused_at_the_field(operator, room):
    assert "Null characters are not allowed." in preview(operator, room, f"+14155550100, A{NUL}")


def test_nul_in_an_uploaded_invite_list_cell_is_a_row_problem(operator, room):
    url = reverse("conferences:invitees-import", args=[room.pk])
    upload = SimpleUploadedFile(
        "list.csv", f"+14155550100, Al{NUL}ice, lab{NUL}el, pre{NUL}set".encode(), "text/csv"
    )
    answer = client_for(operator).post(url, {"step": "check", "file": upload})
    assert answer.status_code == 200
    assert answer.content.decode().count("Null characters are not allowed.") == 3


def test_typed_invite_list_text_over_the_fields_limit_is_named_at_the_field(operator, room):
    assert "Ensure this value has at most 200000 characters" in preview(
        operator, room, "+14155550100, Alice\n" * 12_000
    )


def test_a_sign_in_username_longer_than_its_column_is_a_form_error_and_counts_nothing(
    operator: User,
):
    answer = Client().post(reverse("login"), {"username": "u" * 300, "password": "wrong"})
    assert answer.status_code == 200
    assert "Ensure this value has at most 150 characters (it has 300)." in answer.content.decode()
    assert not AccessAttempt.objects.exists()


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("42", 42),
        ("007", 7),
        ("9" * 18, int("9" * 18)),
        ("9" * 19, None),  # past PostgreSQL's bigint
        ("7" * 4301, None),  # int() refuses it: it was a 500 on the dial page's ?again=
        ("²", None),  # isdigit() says yes, int() says no
        ("٣", None),  # isdigit() says yes, int() reads 3
        ("\uff11\uff12", None),
        ("-1", None),
        ("+1", None),
        (" 1", None),
        ("1\n", None),
        ("", None),
        (None, None),
    ],
)
def test_ids_read_from_text_are_ascii_digits_that_fit_a_bigint(text, read):
    assert inputs.whole_number(text) == read


def test_a_port_of_five_digits_at_most():
    assert inputs.whole_number("8443", max_digits=5) == 8443
    assert inputs.whole_number("844300", max_digits=5) is None
