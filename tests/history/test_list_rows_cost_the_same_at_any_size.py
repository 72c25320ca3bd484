"""A page of the list costs the same number of queries for one row as for fifty, and each
row still shows what it showed before the rows were flattened for speed (issue 10)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from conferences.core import words
from conferences.history import filters as history_filters
from conferences.history import views as history_views
from conferences.models import DialStatus, User
from tests.history.helpers import make_dial
from tests.support.users import make_user

pytestmark = pytest.mark.django_db


def queries_for(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


def varied_dials(operator: User, count: int) -> None:
    """Dials touching every optional part of a row: errors, AMD, end reasons, conferences."""
    for index in range(count):
        make_dial(
            operator,
            conference_name=f"room-{index % 7}",
            status=DialStatus.FAILED if index % 3 == 0 else DialStatus.COMPLETED,
            error_code=21211 if index % 3 == 0 else None,
            answered_after=4.0 if index % 3 else None,
            in_conference_for=90.0 if index % 3 else None,
            answered_by="human" if index % 2 else "",
            end_reason="participant_hung_up" if index % 3 else "participant_add_failed",
        )


@pytest.mark.parametrize("role", ["supervisor", "operator"])
def test_a_full_page_takes_as_many_queries_as_a_page_of_one(
    client: Client, operator: User, supervisor: User, role: str
) -> None:
    viewer = supervisor if role == "supervisor" else operator
    client.force_login(viewer)
    url = reverse("conferences:history")
    varied_dials(operator, 1)
    one = queries_for(client, url)

    varied_dials(operator, history_filters.PAGE_SIZE + 5)
    full = queries_for(client, url)

    assert full == one


def test_live_rows_take_one_query_however_many_changed(
    client: Client, supervisor: User, operator: User
) -> None:
    client.force_login(supervisor)
    dials = [make_dial(operator, status=DialStatus.RINGING) for _ in range(12)]
    stale = "&".join(f"row={dial.pk}:1:queued" for dial in dials)
    url = f"{reverse('conferences:history-live')}?{stale}"
    few = "&".join(f"row={dial.pk}:1:queued" for dial in dials[:1])

    assert queries_for(client, url) == queries_for(
        client, f"{reverse('conferences:history-live')}?{few}"
    )


def test_a_row_shows_local_time_links_names_and_words(client: Client, operator: User) -> None:
    viewer = make_user("tokyo-sam", "supervisor", time_zone="Asia/Tokyo")
    dial = make_dial(
        operator,
        conference_name="board",
        created_at=datetime(2025, 3, 1, 23, 30, 5, tzinfo=UTC),
        status=DialStatus.FAILED,
        error_code=21211,
        end_reason="participant_add_failed",
        label="vip",
    )
    client.force_login(viewer)

    html = client.get(reverse("conferences:history")).content.decode()

    row = re.search(rf'<tr id="dial-{dial.pk}".*?</tr>', html, re.S)
    assert row, html
    text = row.group(0)
    detail = reverse("conferences:history-detail", kwargs={"dial_id": dial.pk})
    room = reverse("conferences:conference-detail", kwargs={"pk": dial.conference_id})
    assert f'<a href="{detail}"><time datetime="2025-03-02T08:30:05+09:00">' in text
    assert "2025-03-02 08:30:05</time>" in text
    assert f'<a href="{room}">board</a>' in text
    assert f"<td>{operator.username}</td>" in text
    assert '<span class="status status-failed">Failed</span>' in text
    assert '<span class="error-code">21211</span> ' in text
    assert escape(words.twilio_error_words(21211)) in text
    assert escape(words.LEAVE_REASON_WORDS["participant_add_failed"]) in text
    assert '<span class="muted small">vip</span>' in text


@pytest.mark.parametrize("dial_id", [1, 7, 42, 2_147_483_647, 9_000_000_001])
def test_row_links_equal_what_reverse_gives(dial_id: int) -> None:
    detail = history_views._url_for_ids("conferences:history-detail", "dial_id")

    assert detail(dial_id) == reverse("conferences:history-detail", kwargs={"dial_id": dial_id})
