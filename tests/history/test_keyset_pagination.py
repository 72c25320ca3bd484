"""Keyset pages: stable while new calls arrive, never OFFSET, and the cursor is ours."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conferences.history import filters as history_filters
from conferences.history import rows as history_rows
from conferences.models import DialStatus
from tests.history.helpers import make_dial, row_ids

pytestmark = pytest.mark.django_db

NEWEST_FIRST = history_filters.HistoryFilters()


def page(user, filters=NEWEST_FIRST, **cursor):
    return history_rows.dial_history(user=user, filters=filters, page_size=3, **cursor)


def pks(history_page):
    return [row.dial.pk for row in history_page.rows]


def test_pages_walk_every_call_once_even_while_new_calls_arrive(supervisor, operator):
    start = timezone.now() - timedelta(hours=1)
    dials = [make_dial(operator, created_at=start + timedelta(minutes=i)) for i in range(7)]
    newest_first = [dial.pk for dial in reversed(dials)]

    first = page(supervisor)
    assert pks(first) == newest_first[:3]
    assert first.next_cursor and not first.previous_cursor

    # Calls placed while the supervisor reads page 1 go on top; page 2 does not shift.
    arrived = [make_dial(operator) for _ in range(4)]

    second = page(supervisor, after=first.next_cursor)
    assert pks(second) == newest_first[3:6]
    third = page(supervisor, after=second.next_cursor)
    assert pks(third) == newest_first[6:]
    assert not third.next_cursor

    # And back: the page before page 3 is page 2 again, however many arrived on top.
    back = page(supervisor, before=third.previous_cursor)
    assert pks(back) == newest_first[3:6]
    back_again = page(supervisor, before=back.previous_cursor)
    assert pks(back_again) == newest_first[:3]
    assert back_again.previous_cursor  # the new arrivals are still above
    top = page(supervisor, before=back_again.previous_cursor)
    assert set(pks(top)) <= {dial.pk for dial in arrived}


def test_calls_created_in_the_same_microsecond_are_neither_skipped_nor_repeated(
    supervisor, operator
):
    moment = timezone.now()
    dials = [make_dial(operator, created_at=moment) for _ in range(5)]
    first = page(supervisor)
    second = page(supervisor, after=first.next_cursor)
    assert pks(first) + pks(second) == sorted((dial.pk for dial in dials), reverse=True)


def test_oldest_first_pages_forward_too(supervisor, operator):
    start = timezone.now() - timedelta(hours=1)
    dials = [make_dial(operator, created_at=start + timedelta(minutes=i)) for i in range(5)]
    oldest_first = history_filters.HistoryFilters(sort="time")
    first = page(supervisor, oldest_first)
    second = page(supervisor, oldest_first, after=first.next_cursor)
    assert pks(first) + pks(second) == [dial.pk for dial in dials]


def test_sorting_by_time_in_conference_pages_through_calls_that_never_joined_last(
    supervisor, operator
):
    talked = [
        make_dial(operator, answered_after=2, in_conference_for=seconds)
        for seconds in (30, 600, 120, 600)
    ]
    never = [make_dial(operator, status=DialStatus.BUSY) for _ in range(2)]
    longest_first = history_filters.HistoryFilters(sort="-duration")
    walked = []
    cursor = ""
    while True:
        current = page(supervisor, longest_first, after=cursor)
        walked += current.rows
        cursor = current.next_cursor
        if not cursor:
            break
    durations = [row.time_in_conference for row in walked]
    assert durations[:4] == [timedelta(seconds=s) for s in (600, 600, 120, 30)]
    assert [row.dial.pk for row in walked[4:]] == sorted((d.pk for d in never), reverse=True)
    assert len({row.dial.pk for row in walked}) == len(walked) == len(talked) + len(never)

    shortest_first = history_filters.HistoryFilters(sort="duration")
    first = page(supervisor, shortest_first)
    second = page(supervisor, shortest_first, after=first.next_cursor)
    assert [row.dial.pk for row in first.rows + second.rows][:2] == sorted(d.pk for d in never)


def test_a_tampered_or_foreign_cursor_is_ignored(supervisor, operator):
    for _ in range(4):
        make_dial(operator)
    first = page(supervisor)
    tampered = first.next_cursor[:-2] + ("AA" if not first.next_cursor.endswith("AA") else "BB")
    assert pks(page(supervisor, after=tampered)) == pks(first)
    # A cursor made for another order means nothing in this one.
    by_duration = page(supervisor, history_filters.HistoryFilters(sort="-duration"))
    assert pks(page(supervisor, after=by_duration.next_cursor)) == pks(first)
    assert pks(page(supervisor, after="not a cursor at all")) == pks(first)


def test_a_page_is_one_keyset_query_without_offset_and_without_a_query_per_row(
    client, supervisor, operator
):
    for _ in range(60):
        make_dial(operator)
    client.force_login(supervisor)
    url = reverse("conferences:history")
    first = client.get(url)
    assert len(row_ids(first.content.decode())) == history_filters.PAGE_SIZE
    next_url = first.context["next_url"]
    with CaptureQueriesContext(connection) as few_rows_page:
        client.get(url, {"label": "caller-1"})
    with CaptureQueriesContext(connection) as second_page:
        response = client.get(next_url)
    assert len(row_ids(response.content.decode())) == 10
    queries = [query["sql"] for query in second_page.captured_queries]
    dial_queries = [sql for sql in queries if 'FROM "conferences_dialrequest"' in sql]
    listing = [sql for sql in dial_queries if "LIMIT 51" in sql]
    assert len(listing) == 1
    assert "OFFSET" not in listing[0]
    assert '"conferences_dialrequest"."created_at" <=' in listing[0]
    # Conference, operator and the attempt count come with the rows: no query per row.
    assert len(second_page.captured_queries) == len(few_rows_page.captured_queries)
