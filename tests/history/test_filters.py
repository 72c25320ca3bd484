"""Each filter of the history list, some combinations, and the htmx fragment."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from conferences.accounts import roles
from conferences.models import DialStatus
from tests.history.helpers import make_dial, row_ids
from tests.support.users import make_user

pytestmark = pytest.mark.django_db

URL = reverse("conferences:history")


@pytest.fixture
def calls(operator, supervisor):
    """A small history: who, where, how it went."""
    other = make_user("omar", roles.OPERATOR)
    now = timezone.now()
    return {
        "standup_ok": make_dial(
            operator,
            conference_name="standup",
            to="+14155550142",
            label="Alice-Board",
            answered_after=4,
            in_conference_for=300,
            answered_by="human",
            created_at=now - timedelta(minutes=5),
        ),
        "standup_busy": make_dial(
            operator,
            conference_name="standup",
            status=DialStatus.BUSY,
            to="+442071838750",
            label="bob",
            sip_response_code=486,
            created_at=now - timedelta(minutes=4),
        ),
        "sales_invalid": make_dial(
            other,
            conference_name="sales",
            status=DialStatus.FAILED,
            to="+15005550001",
            label="carol",
            error_code=21211,
            error_message="The 'To' number +15005550001 is not a valid phone number.",
            created_at=now - timedelta(minutes=3),
        ),
        "sales_machine": make_dial(
            other,
            conference_name="sales",
            to="+15005550022",
            from_="+13125550199",
            label="dave-machine",
            answered_after=6,
            answered_by="machine_end_beep",
            created_at=now - timedelta(minutes=2),
        ),
        "sales_ringing": make_dial(
            supervisor,
            conference_name="sales",
            status=DialStatus.RINGING,
            to="+14155550199",
            label="erin",
            created_at=now - timedelta(minutes=1),
        ),
        "old_no_answer": make_dial(
            other,
            conference_name="standup",
            status=DialStatus.NO_ANSWER,
            to="+15005550011",
            label="frank",
            created_at=now - timedelta(days=20),
        ),
    }


def shown(client, **query):
    response = client.get(URL, query)
    assert response.status_code == 200
    return set(row_ids(response.content.decode()))


def ids(calls, *names):
    return {calls[name].pk for name in names}


@pytest.fixture
def signed_in(client, supervisor):
    client.force_login(supervisor)
    return client


def test_without_filters_a_supervisor_sees_every_call_newest_first(signed_in, calls):
    response = signed_in.get(URL)
    order = row_ids(response.content.decode())
    expected = sorted(calls.values(), key=lambda dial: dial.created_at, reverse=True)
    assert order == [dial.pk for dial in expected]


def test_conference_filter_matches_the_friendly_name(signed_in, calls):
    assert shown(signed_in, conference="sales") == ids(
        calls, "sales_invalid", "sales_machine", "sales_ringing"
    )


def test_conference_id_filter_matches_one_conference(signed_in, calls):
    conference_id = calls["standup_ok"].conference_id
    assert shown(signed_in, conference_id=conference_id) == ids(
        calls, "standup_ok", "standup_busy", "old_no_answer"
    )


def test_operator_filter(signed_in, calls, operator):
    assert shown(signed_in, operator=operator.pk) == ids(calls, "standup_ok", "standup_busy")


def test_several_statuses_at_once(signed_in, calls):
    assert shown(signed_in, status=["busy", "failed"]) == ids(
        calls, "standup_busy", "sales_invalid"
    )


def test_answered_by_a_value_and_never_detected(signed_in, calls):
    assert shown(signed_in, answered_by="machine_end_beep") == ids(calls, "sales_machine")
    assert shown(signed_in, answered_by="none") == ids(
        calls, "standup_busy", "sales_invalid", "sales_ringing", "old_no_answer"
    )


def test_error_code_exact_and_any(signed_in, calls):
    assert shown(signed_in, error_code="21211") == ids(calls, "sales_invalid")
    assert shown(signed_in, error_code="any") == ids(calls, "sales_invalid")
    assert shown(signed_in, error_code="16022") == set()


def test_number_search_finds_any_part_of_to_or_from_whatever_the_punctuation(signed_in, calls):
    assert shown(signed_in, number="555-0142") == ids(calls, "standup_ok")
    assert shown(signed_in, number="(312) 555") == ids(calls, "sales_machine")  # a From
    assert shown(signed_in, number="2071") == ids(calls, "standup_busy")
    assert shown(signed_in, number="0199") == ids(calls, "sales_machine", "sales_ringing")


def test_too_short_a_number_search_is_ignored_with_a_note(signed_in, calls):
    response = signed_in.get(URL, {"number": "41"})
    assert set(row_ids(response.content.decode())) == ids(calls, *calls)
    assert "at least 3 digits" in response.content.decode()


def test_label_search_is_case_insensitive_and_partial(signed_in, calls):
    assert shown(signed_in, label="board") == ids(calls, "standup_ok")
    assert shown(signed_in, label="MACHINE") == ids(calls, "sales_machine")


def test_custom_dates_are_inclusive_calendar_days(signed_in, calls):
    today = timezone.localdate()
    assert shown(signed_in, **{"from": today.isoformat(), "to": today.isoformat()}) == ids(
        calls, "standup_ok", "standup_busy", "sales_invalid", "sales_machine", "sales_ringing"
    )
    twenty_days_ago = (today - timedelta(days=20)).isoformat()
    assert shown(signed_in, **{"from": twenty_days_ago, "to": twenty_days_ago}) == ids(
        calls, "old_no_answer"
    )


def test_quick_ranges(signed_in, calls):
    recent = ids(calls, *(name for name in calls if name != "old_no_answer"))
    assert shown(signed_in, range="7d") == recent
    assert shown(signed_in, range="30d") == ids(calls, *calls)


def test_filters_combine(signed_in, calls, operator):
    assert shown(signed_in, conference="standup", status=["completed", "no-answer"]) == ids(
        calls, "standup_ok", "old_no_answer"
    )
    assert shown(signed_in, conference="sales", number="0199", range="today") == ids(
        calls, "sales_machine", "sales_ringing"
    )
    assert shown(signed_in, operator=operator.pk, status=["failed"]) == set()


def test_unusable_values_are_dropped_and_explained(signed_in, calls):
    response = signed_in.get(
        URL,
        {"status": ["nonsense", "busy"], "answered_by": "robot", "error_code": "abc", "to": "x"},
    )
    html = response.content.decode()
    assert set(row_ids(html)) == ids(calls, "standup_busy")
    assert "Unknown AnsweredBy value" in html
    assert "The error code must be a number" in html
    assert "Dates must look like" in html


def test_filters_live_in_the_url_the_form_shows_them_and_links_keep_them(signed_in, calls):
    response = signed_in.get(URL, {"conference": "sales", "status": "failed", "label": "car"})
    html = response.content.decode()
    assert 'value="sales"' in html
    assert 'value="failed" checked' in html
    # The export link and sort links carry the same filters.
    assert "export.csv?conference=sales&amp;status=failed&amp;label=car" in html
    assert "?conference=sales&amp;status=failed&amp;label=car&amp;sort=time" in html


def test_an_htmx_request_gets_only_the_results_fragment(signed_in, calls):
    response = signed_in.get(URL, {"conference": "sales"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "<html" not in html and "<form" not in html
    assert 'id="history-rows"' in html
    assert set(row_ids(html)) == ids(calls, "sales_invalid", "sales_machine", "sales_ringing")
    assert "3 calls shown." in html  # announced to screen readers out of band
    assert "HX-Request" in response["Vary"]


def test_the_full_page_and_a_history_restore_get_the_whole_page(signed_in, calls):
    page = signed_in.get(URL, {"conference": "sales"})
    assert "<html" in page.content.decode() and "HX-Request" in page["Vary"]
    restore = signed_in.get(
        URL,
        {"conference": "sales"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    )
    assert "<html" in restore.content.decode()


def test_an_htmx_filter_pushes_the_tidy_url_without_empty_fields(signed_in, calls):
    response = signed_in.get(
        URL,
        {"conference": "sales", "number": "", "label": "", "range": "", "status": "failed"},
        HTTP_HX_REQUEST="true",
    )
    assert response["HX-Push-Url"] == "/history/?conference=sales&status=failed"
