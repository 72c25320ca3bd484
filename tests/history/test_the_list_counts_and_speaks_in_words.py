"""The history list as a reader meets it: the conference filter finds any part of a name in
any case, the list says how many calls match, and Twilio's raw values come as words."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conferences.history import rows as history_rows
from tests.history.helpers import make_dial, row_ids

pytestmark = pytest.mark.django_db

URL = reverse("conferences:history")


@pytest.fixture
def signed_in(client, supervisor):
    client.force_login(supervisor)
    return client


def test_the_conference_filter_finds_any_part_of_the_name_in_any_case(signed_in, operator):
    board = make_dial(operator, conference_name="Board call")
    weekly = make_dial(operator, conference_name="Weekly BOARD review")
    make_dial(operator, conference_name="Standup")
    html = signed_in.get(URL, {"conference": "board"}).content.decode()
    assert set(row_ids(html)) == {board.pk, weekly.pk}


def test_the_list_says_how_many_calls_match_the_filters(signed_in, operator):
    for _ in range(3):
        make_dial(operator, conference_name="Board call")
    make_dial(operator, conference_name="Standup")
    html = signed_in.get(URL, {"conference": "board"}).content.decode()
    assert '<strong id="history-total">3 calls</strong> match the filters' in html
    assert '<strong id="history-total">4 calls</strong>' in signed_in.get(URL).content.decode()


def test_past_the_counting_limit_the_list_says_more_than(signed_in, operator, monkeypatch):
    monkeypatch.setattr(history_rows, "COUNT_LIMIT", 2)
    for _ in range(3):
        make_dial(operator)
    html = signed_in.get(URL).content.decode()
    assert '<strong id="history-total">More than 2 calls</strong>' in html


def test_answered_by_is_said_in_words_in_the_list_its_filter_and_the_call_page(signed_in, operator):
    dial = make_dial(
        operator,
        answered_by="machine_end_beep",
        answered_after=3,
        end_reason="participant_hung_up",
    )
    html = signed_in.get(URL).content.decode()
    assert "answered by an answering machine (after its beep)" in html
    assert ">An answering machine (after its beep)</option>" in html
    assert "machine_end_beep<" not in html
    detail = signed_in.get(reverse("conferences:history-detail", args=[dial.pk])).content.decode()
    assert "by an answering machine (after its beep)" in detail
    assert "the caller hung up" in detail
