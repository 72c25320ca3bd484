"""Rows of calls in progress update by themselves: only changed rows, swapped out of band."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from conferences.callbacks import applier as callback_applier
from conferences.models import DialRequest, DialStatus
from tests.history.helpers import make_dial

pytestmark = pytest.mark.django_db


def poll_url(html: str) -> str:
    found = re.search(r'<div id="history-live" hx-get="([^"]+)" hx-trigger="every 2s"', html)
    assert found, "no live poller"
    return found.group(1).replace("&amp;", "&")


def test_the_list_polls_only_for_its_live_rows(client, supervisor, operator):
    ringing = make_dial(operator, status=DialStatus.RINGING)
    make_dial(operator, status=DialStatus.COMPLETED)
    client.force_login(supervisor)
    html = client.get(reverse("conferences:history")).content.decode()
    known = parse_qs(urlsplit(poll_url(html)).query)["row"]
    assert len(known) == 1 and known[0].startswith(f"{ringing.pk}:")
    assert known[0].endswith(":ringing")


def test_a_list_without_live_rows_does_not_poll(client, supervisor, operator):
    make_dial(operator, status=DialStatus.BUSY)
    client.force_login(supervisor)
    html = client.get(reverse("conferences:history")).content.decode()
    assert '<div id="history-live"></div>' in html


def test_a_status_change_comes_back_as_that_row_alone_and_is_announced(
    client, supervisor, operator
):
    ringing = make_dial(operator, status=DialStatus.RINGING, conference_name="board")
    queued = make_dial(operator, status=DialStatus.QUEUED)
    client.force_login(supervisor)
    url = poll_url(client.get(reverse("conferences:history")).content.decode())

    unchanged = client.get(url, HTTP_HX_REQUEST="true")
    assert unchanged.status_code == 200
    assert "<tr" not in unchanged.content.decode()

    callback_applier.advance_dial_status(ringing.pk, DialStatus.IN_PROGRESS)
    response = client.get(url, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200  # the other row is still live: keep polling
    assert re.findall(r'<tr id="dial-(\d+)"', html) == [str(ringing.pk)]
    assert re.search(
        rf'<template>\s*<tr id="dial-{ringing.pk}" class="history-row is-live" hx-swap-oob="true"',
        html,
    )
    assert "In the conference" in html
    assert '<span id="history-announcer" hx-swap-oob="innerHTML">' in html
    assert "Call to +14155550142 in board: In the conference." in html
    # The poller comes back with what the browser now knows.
    next_known = parse_qs(urlsplit(poll_url(html)).query)["row"]
    assert {value.split(":")[0] for value in next_known} == {str(ringing.pk), str(queued.pk)}
    assert f"{ringing.pk}:" in next_known[0] and next_known[0].endswith(":in-progress")
    assert "no-store" in response["Cache-Control"]


def test_polling_stops_once_every_row_is_final(client, supervisor, operator):
    dial = make_dial(operator, status=DialStatus.IN_PROGRESS)
    client.force_login(supervisor)
    url = poll_url(client.get(reverse("conferences:history")).content.decode())
    # Some pipeline writes leave updated_at alone; the row must come back all the same.
    DialRequest.objects.filter(pk=dial.pk).update(status=DialStatus.COMPLETED)
    response = client.get(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 286  # htmx: swap this, then stop polling
    html = response.content.decode()
    assert f'<tr id="dial-{dial.pk}" class="history-row"' in html
    assert '<div id="history-live" hx-swap-oob="true"></div>' in html


def test_garbage_in_the_poll_is_ignored(client, supervisor):
    client.force_login(supervisor)
    response = client.get(reverse("conferences:history-live"), {"row": ["x", "1:2", "9:9:9:9"]})
    assert response.status_code == 286
