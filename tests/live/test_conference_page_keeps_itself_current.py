"""The conference page and list as screens: an "Add a caller" box that dials through the
pipeline and shows its errors in place; an ended conference takes away "play to everyone"
and "end for everyone" with its last roster poll; the list refreshes itself; participants
are named by name or label before their number."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from conferences.accounts.twilio_accounts import default_account
from conferences.live import participant_names
from conferences.models import AuditEntry, Conference, ConferenceStatus, DialRequest, DialStatus
from tests.live.helpers import client_for

pytestmark = pytest.mark.django_db

HX: dict[str, Any] = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def room(operator) -> Conference:
    return Conference.objects.create(
        account=default_account(),
        friendly_name="Board call",
        created_by=operator,
        status=ConferenceStatus.IN_PROGRESS,
        sid="CF" + "c" * 32,
        started_at=timezone.now(),
    )


def test_add_a_caller_dials_them_into_this_conference_under_their_label(operator, room):
    url = reverse("conferences:conference-add-caller", args=[room.pk])
    answer = client_for(operator).post(
        url, {"to": "+15005550006", "from": "+15005550006", "label": "bob"}, **HX
    )
    assert answer.status_code == 200
    assert "Dialing bob into Board call." in answer.content.decode()
    dial = DialRequest.objects.get()
    assert (dial.conference_id, dial.label, dial.operator_id) == (room.pk, "bob", operator.pk)
    assert AuditEntry.objects.filter(dial=dial, action="dial").exists()


def test_add_a_caller_shows_its_errors_in_place_keeping_what_was_typed(operator, room):
    url = reverse("conferences:conference-add-caller", args=[room.pk])
    answer = client_for(operator).post(
        url, {"to": "not a number", "from": "+15005550006", "label": "bob"}, **HX
    )
    assert answer.status_code == 422
    assert answer["HX-Retarget"] == "#add-caller"
    html = answer.content.decode()
    assert 'id="add-caller"' in html and 'class="errorlist"' in html
    assert 'value="not a number"' in html and 'value="bob"' in html
    assert '<div id="live-status" hx-swap-oob="innerHTML"></div>' in html  # no old success
    assert not DialRequest.objects.exists()


def test_add_a_caller_suggests_a_free_label_when_the_label_is_taken(operator, room):
    url = reverse("conferences:conference-add-caller", args=[room.pk])
    client = client_for(operator)
    client.post(url, {"to": "+15005550006", "from": "+15005550006", "label": "bob"}, **HX)
    again = client.post(url, {"to": "+15005550006", "from": "+15005550006", "label": "bob"}, **HX)
    assert again.status_code == 422
    assert 'value="bob-2"' in again.content.decode()
    assert DialRequest.objects.count() == 1


def test_the_last_roster_poll_of_an_ended_conference_removes_its_live_controls(supervisor, room):
    client = client_for(supervisor)
    page = client.get(reverse("conferences:conference-detail", args=[room.pk])).content.decode()
    assert "Play to everyone" in page and "End the conference for everyone" in page

    Conference.objects.filter(pk=room.pk).update(
        status=ConferenceStatus.COMPLETED, ended_at=timezone.now()
    )
    poll = client.get(reverse("conferences:conference-roster", args=[room.pk]), **HX)

    assert poll.status_code == 286  # htmx stops polling, and still swaps
    html = poll.content.decode()
    assert 'id="conference-controls" class="card conference-controls"' in html
    assert 'hx-swap-oob="true"' in html
    assert "Play to everyone" not in html and "End the conference for everyone" not in html
    assert "The conference has ended" in html  # the add-a-caller box says so instead


def test_the_conference_list_refreshes_itself(operator, room):
    client = client_for(operator)
    page = client.get(reverse("conferences:conference-list")).content.decode()
    assert 'id="conference-listing"' in page and 'hx-trigger="every 5s"' in page
    fragment = client.get(reverse("conferences:conference-list"), **HX).content.decode()
    assert fragment.lstrip().startswith('<div id="conference-listing"')
    assert "Board call" in fragment and "<html" not in fragment


def test_participants_are_named_by_label_before_their_number(operator, room):
    for label in ("bob", "alice"):
        DialRequest.objects.create(
            account=room.account,
            conference=room,
            operator=operator,
            to_number="+15005550006",
            from_number="+15005550006",
            label=label,
            call_sid="CA" + ("b" if label == "bob" else "a") * 32,
            status=DialStatus.IN_PROGRESS,
        )
    names = {
        participant_names.roster_name(operator, room, "CA" + letter * 32) for letter in ("a", "b")
    }
    assert names == {"alice (+15005550006)", "bob (+15005550006)"}
