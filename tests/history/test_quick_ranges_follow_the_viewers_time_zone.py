"""Quick ranges and dates are calendar days in the viewer's time zone, DST included."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from conferences.accounts import roles
from conferences.history import filters as history_filters
from conferences.history import rows as history_rows
from tests.history.helpers import make_dial, row_ids
from tests.support.users import make_user

pytestmark = pytest.mark.django_db

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
AUCKLAND = zoneinfo.ZoneInfo("Pacific/Auckland")


def period(zone, now, **query):
    return history_filters.HistoryFilters.from_query(query).period(zone, now)


def test_today_starts_at_local_midnight_not_utc_midnight():
    now = datetime(2025, 6, 10, 2, 30, tzinfo=UTC)  # 14:30 on June 10 in Auckland (UTC+12)
    today = period(AUCKLAND, now, range="today")
    assert today.start == datetime(2025, 6, 9, 12, 0, tzinfo=UTC)
    assert today.end is None
    assert (today.first_day, today.last_day) == (date(2025, 6, 10), date(2025, 6, 10))


def test_seven_days_are_today_and_the_six_before_across_a_dst_change():
    # DST began in New York on 2025-03-09: the range starts at midnight EST (UTC-5).
    now = datetime(2025, 3, 12, 16, 0, tzinfo=UTC)  # 12:00 EDT
    week = period(NEW_YORK, now, range="7d")
    assert week.start == datetime(2025, 3, 6, 5, 0, tzinfo=UTC)
    assert week.first_day == date(2025, 3, 6)
    month = period(NEW_YORK, now, range="30d")
    assert month.start == datetime(2025, 2, 11, 5, 0, tzinfo=UTC)


def test_today_on_the_day_dst_starts_begins_at_midnight_standard_time():
    now = datetime(2025, 3, 9, 16, 0, tzinfo=UTC)  # 12:00 EDT, the first day of DST
    assert period(NEW_YORK, now, range="today").start == datetime(2025, 3, 9, 5, 0, tzinfo=UTC)


def test_a_custom_to_date_includes_that_whole_local_day_even_when_dst_ends():
    # DST ended in New York on 2025-11-02: that day has 25 hours.
    custom = period(NEW_YORK, timezone.now(), **{"from": "2025-11-02", "to": "2025-11-02"})
    assert custom.start == datetime(2025, 11, 2, 4, 0, tzinfo=UTC)  # midnight EDT
    assert custom.end == datetime(2025, 11, 3, 5, 0, tzinfo=UTC)  # midnight EST
    assert custom.end - custom.start == timedelta(hours=25)


def test_dials_either_side_of_local_midnight_fall_on_their_local_days(operator):
    now = datetime(2025, 6, 10, 2, 30, tzinfo=UTC)
    before_midnight = make_dial(operator, created_at=datetime(2025, 6, 9, 11, 59, tzinfo=UTC))
    after_midnight = make_dial(operator, created_at=datetime(2025, 6, 9, 12, 1, tzinfo=UTC))
    page = history_rows.dial_history(
        user=operator,
        filters=history_filters.HistoryFilters.from_query({"range": "today"}),
        zone=AUCKLAND,
        now=now,
    )
    assert [row.dial.pk for row in page.rows] == [after_midnight.pk]
    yesterday = history_rows.dial_history(
        user=operator,
        filters=history_filters.HistoryFilters.from_query(
            {"from": "2025-06-09", "to": "2025-06-09"}
        ),
        zone=AUCKLAND,
        now=now,
    )
    assert [row.dial.pk for row in yesterday.rows] == [before_midnight.pk]


def test_the_page_uses_the_signed_in_users_own_time_zone(client):
    viewer = make_user("kiri", roles.SUPERVISOR, time_zone="Pacific/Auckland")
    local_midnight = datetime.combine(
        timezone.now().astimezone(AUCKLAND).date(), datetime.min.time(), tzinfo=AUCKLAND
    )
    yesterday_late = make_dial(viewer, created_at=local_midnight - timedelta(minutes=1))
    today_early = make_dial(viewer, created_at=local_midnight + timedelta(minutes=1))
    client.force_login(viewer)
    response = client.get(reverse("conferences:history"), {"range": "today"})
    html = response.content.decode()
    assert row_ids(html) == [today_early.pk]
    assert yesterday_late.pk not in row_ids(html)
    assert "Times in Pacific/Auckland" in html
    # Shown in the viewer's zone: 00:01 local, whatever the UTC date.
    assert f"{local_midnight:%Y-%m-%d} 00:01:" in html
