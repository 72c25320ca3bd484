"""The overview's numbers against a small known data set; the charts draw the same ones."""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from conferences.accounts import roles
from conferences.history import filters as history_filters
from conferences.history import overview as overview_numbers
from conferences.models import DialStatus
from tests.history.helpers import make_dial
from tests.support.users import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def known_week(operator):
    """Three days of calls by two operators (UTC viewer)."""
    omar = make_user("omar", roles.OPERATOR)
    today = timezone.now().astimezone(UTC).date()

    def at(days_ago: int, hour: int = 12) -> datetime:
        return datetime.combine(today - timedelta(days=days_ago), time(hour), tzinfo=UTC)

    make_dial(operator, created_at=at(2), answered_after=2, in_conference_for=60)
    make_dial(operator, created_at=at(2, 13), answered_after=4, in_conference_for=30)
    make_dial(operator, created_at=at(2, 14), status=DialStatus.BUSY)
    make_dial(operator, created_at=at(1), status=DialStatus.NO_ANSWER)
    for hour in (9, 10):
        make_dial(omar, created_at=at(1, hour), status=DialStatus.FAILED, error_code=21211)
    make_dial(omar, created_at=at(1, 11), status=DialStatus.FAILED, failure_reason="deadline")
    make_dial(omar, created_at=at(0, 0), answered_after=10, answered_by="machine_start")
    make_dial(omar, created_at=at(0, 0), status=DialStatus.RINGING)
    return today


def test_totals_answer_rate_and_median_time_to_answer(supervisor, known_week):
    overview = overview_numbers.history_overview(
        user=supervisor, filters=history_filters.HistoryFilters(quick_range="7d")
    )
    assert (overview.first_day, overview.last_day) == (
        known_week - timedelta(days=6),
        known_week,
    )
    assert overview.dials == 9
    assert overview.finished == 8  # the ringing call has not finished
    assert overview.answered == 3
    assert overview.answer_rate == 3 / 8
    assert overview.joined == 2
    assert overview.median_time_to_answer == timedelta(seconds=4)


def test_calls_per_day_by_outcome(supervisor, known_week):
    overview = overview_numbers.history_overview(
        user=supervisor, filters=history_filters.HistoryFilters(quick_range="7d")
    )
    by_day = {day.day: day.counts for day in overview.days}
    assert len(overview.days) == 7
    assert by_day[known_week - timedelta(days=2)] == {"completed": 2, "busy": 1}
    assert by_day[known_week - timedelta(days=1)] == {"failed": 3, "no-answer": 1}
    assert by_day[known_week] == {"completed": 1, "live": 1}
    assert by_day[known_week - timedelta(days=5)] == {}


def test_failures_by_error_code_and_per_operator(supervisor, known_week):
    overview = overview_numbers.history_overview(
        user=supervisor, filters=history_filters.HistoryFilters(quick_range="7d")
    )
    assert [(f.code, f.count) for f in overview.failures] == [(21211, 2), (None, 1)]
    assert overview.failures[0].words == "Invalid 'To' phone number"
    per_operator = {o.username: o for o in overview.operators}
    olivia, omar = per_operator["olivia"], per_operator["omar"]
    assert (olivia.dials, olivia.finished, olivia.answered, olivia.joined) == (4, 4, 2, 2)
    assert olivia.answer_rate == 0.5
    assert olivia.median_time_to_answer == timedelta(seconds=3)
    assert (omar.dials, omar.finished, omar.answered) == (5, 4, 1)
    assert omar.median_time_to_answer == timedelta(seconds=10)


def test_days_are_the_viewers_calendar_days(supervisor, operator):
    los_angeles = zoneinfo.ZoneInfo("America/Los_Angeles")
    # 03:00 UTC on Jan 15 is 19:00 on Jan 14 in Los Angeles.
    make_dial(operator, created_at=datetime(2025, 1, 15, 3, 0, tzinfo=UTC))
    overview = overview_numbers.history_overview(
        user=supervisor,
        filters=history_filters.HistoryFilters(
            date_from=date(2025, 1, 14), date_to=date(2025, 1, 15)
        ),
        zone=los_angeles,
    )
    assert [(d.day, d.total) for d in overview.days] == [
        (date(2025, 1, 14), 1),
        (date(2025, 1, 15), 0),
    ]


def test_the_page_shows_the_same_numbers_in_its_charts_and_tables(client, supervisor, known_week):
    client.force_login(supervisor)
    response = client.get(reverse("conferences:history-overview"), {"range": "7d"})
    assert response.status_code == 200
    html = response.content.decode()
    two_days_ago = (known_week - timedelta(days=2)).isoformat()
    # The stacked chart: one rect per day and outcome, carrying its number.
    assert f'data-category="{two_days_ago}" data-series="completed" data-value="2"' in html
    assert f'data-category="{two_days_ago}" data-series="busy" data-value="1"' in html
    assert 'data-label="21211" data-value="2"' in html
    assert 'data-label="olivia" data-value="50"' in html
    assert 'data-label="omar" data-value="25"' in html
    # The tables beside them.
    assert '<dd id="total-dials">9</dd>' in html
    assert "38 %" in html and "(3 of 8)" in html
    assert '<dd id="median-tta">4.0 s</dd>' in html
    daily = re.search(r'<table class="chart-table" id="daily-table">.*?</table>', html, re.S)
    assert daily is not None
    cells = re.findall(r'<td class="num">(\d+)</td>', daily.group(0))
    # Seven days of six outcomes and a total; two days ago: 2 completed, 1 busy, 3 in all.
    assert cells[4 * 7 : 5 * 7] == ["2", "1", "0", "0", "0", "0", "3"]
    # Server-rendered SVG without inline styles (the CSP forbids them).
    assert "<svg" in html and "style=" not in html


def test_the_page_defaults_to_the_last_seven_days(client, supervisor):
    client.force_login(supervisor)
    html = client.get(reverse("conferences:history-overview")).content.decode()
    assert '<option value="7d" selected>' in html


def test_a_viewer_who_may_see_no_dial_gets_an_empty_overview(known_week):
    nobody = make_user("nobody", None)

    overview = overview_numbers.history_overview(
        user=nobody, filters=history_filters.HistoryFilters(quick_range="7d")
    )

    assert (overview.dials, overview.median_time_to_answer) == (0, None)
    assert overview.operators == [] and overview.failures == []
