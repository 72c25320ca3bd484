"""The conference list and a conference's page: full pages, and their htmx partials alone."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from conferences.accounts.twilio_accounts import default_account
from conferences.models import Conference, ConferenceStatus, DialRequest, DialStatus, Invitee, User
from tests.live.helpers import client_for
from tests.support.users import make_user

pytestmark = pytest.mark.django_db


def conference(name: str, by: User, **fields) -> Conference:
    return Conference.objects.create(
        account=default_account(), friendly_name=name, created_by=by, **fields
    )


def dial_into(room: Conference, operator: User, number: str, **fields) -> DialRequest:
    return DialRequest.objects.create(
        account=room.account,
        conference=room,
        operator=operator,
        to_number=number,
        from_number="+15005550006",
        label=f"l-{number}",
        **fields,
    )


def test_the_list_shows_live_conferences_first_and_operators_only_their_own(operator, supervisor):
    other = make_user("otto", "operator")
    ended = conference("yesterday", operator, status=ConferenceStatus.COMPLETED)
    ended.ended_at = timezone.now()
    ended.save()
    live = conference("standup", operator, status=ConferenceStatus.IN_PROGRESS, sid="CF" + "a" * 32)
    dial_into(live, operator, "+15005550006", status=DialStatus.IN_PROGRESS)
    conference("otto's own", other)

    page = client_for(operator).get(reverse("conferences:conference-list")).content.decode()
    assert page.index("standup") < page.index("yesterday")
    assert "otto&#x27;s own" not in page
    everything = client_for(supervisor).get(reverse("conferences:conference-list")).content.decode()
    assert "otto&#x27;s own" in everything


def test_planning_a_conference_opens_it_once_and_refuses_someone_elses_name(operator):
    client = client_for(operator)
    url = reverse("conferences:conference-plan")
    first = client.post(url, {"friendly_name": "board meeting"})
    room = Conference.objects.get(friendly_name="board meeting")
    assert first["Location"] == reverse("conferences:conference-detail", args=[room.pk])
    assert client.post(url, {"friendly_name": "board meeting"})["Location"] == first["Location"]

    conference("secret", make_user("otto", "operator"))
    refused = client.post(url, {"friendly_name": "secret"})
    assert refused.status_code == 422
    assert "is already running" in refused.content.decode()
    assert client.post(url, {"friendly_name": "a/b"}).status_code == 422


def test_the_page_renders_whole_and_each_partial_renders_alone(operator):
    room = conference("standup", operator, status=ConferenceStatus.IN_PROGRESS, sid="CF" + "b" * 32)
    dial_into(
        room,
        operator,
        "+15005550006",
        status=DialStatus.IN_PROGRESS,
        call_sid="CA" + "1" * 32,
        joined_at=timezone.now(),
        answered_at=timezone.now(),
    )
    Invitee.objects.create(conference=room, number="+14155550100", name="Alice", added_by=operator)
    client = client_for(operator)

    full = client.get(reverse("conferences:conference-detail", args=[room.pk]))
    html = full.content.decode()
    assert full.status_code == 200
    for part in ('id="roster"', 'id="invitees"', 'id="conference-controls"', 'id="invite-import"'):
        assert part in html
    assert "Mute: l-+15005550006 (+15005550006)" in html  # the label first, then the number
    assert 'hx-trigger="every 2s"' in html
    assert "<progress" not in html  # nothing dialed from the list yet

    roster = client.get(
        reverse("conferences:conference-roster", args=[room.pk]), HTTP_HX_REQUEST="true"
    )
    assert roster.status_code == 200
    assert roster.content.decode().lstrip().startswith('<section id="roster"')
    assert "HX-Request" in roster["Vary"]
    whole = client.get(reverse("conferences:conference-roster", args=[room.pk]))
    assert "<html" in whole.content.decode()  # without htmx: the whole page

    invitees = client.get(
        reverse("conferences:conference-invitees", args=[room.pk]), HTTP_HX_REQUEST="true"
    )
    assert invitees.content.decode().lstrip().startswith('<section id="invitees"')
    assert invitees.status_code == 286  # nobody is being dialed: polling may stop


def test_the_roster_answers_286_once_the_conference_ended(operator):
    room = conference("done", operator, status=ConferenceStatus.COMPLETED, sid="CF" + "c" * 32)
    room.reason_ended = "last-participant-left"
    room.ended_at = timezone.now()
    room.save()
    client = client_for(operator)
    url = reverse("conferences:conference-roster", args=[room.pk])
    answer = client.get(url, HTTP_HX_REQUEST="true")
    assert answer.status_code == 286
    body = answer.content.decode()
    assert "hx-trigger" not in body
    assert "The last participant left" in body
    assert client.get(url).status_code == 200


def test_the_status_line_is_rewritten_only_when_the_roster_changed(operator):
    room = conference("standup", operator, status=ConferenceStatus.IN_PROGRESS, sid="CF" + "d" * 32)
    client = client_for(operator)
    url = reverse("conferences:conference-roster", args=[room.pk])
    first = client.get(url, {"seen": "0"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="roster-status" hx-swap-oob="innerHTML"' in first
    key = first.split('"seen": "')[1].split('"')[0]
    again = client.get(url, {"seen": key}, HTTP_HX_REQUEST="true").content.decode()
    assert "hx-swap-oob" not in again


def test_a_conference_the_user_may_not_see_is_not_found(operator):
    hidden = conference("hidden", make_user("otto", "operator"))
    client = client_for(operator)
    assert client.get(reverse("conferences:conference-detail", args=[hidden.pk])).status_code == 404
    assert client.get(reverse("conferences:conference-roster", args=[hidden.pk])).status_code == 404


def test_every_control_works_without_javascript(operator, sandbox, settings):
    settings.TWILIO_API_BASE_URL = sandbox.url
    room = conference("standup", operator, status=ConferenceStatus.IN_PROGRESS, sid="CF" + "f" * 32)
    call = "CA" + "2" * 32
    dial_into(room, operator, "+15005550006", status=DialStatus.IN_PROGRESS, call_sid=call)
    client = client_for(operator)
    step = reverse("conferences:participant-step", args=[room.pk, call, "remove"])
    page = client.get(step).content.decode()
    assert "<html" in page and "Yes, remove" in page  # the confirm step, in its row

    action = reverse("conferences:participant-action", args=[room.pk, call])
    answer = client.post(action, {"action": "remove"})
    assert answer.status_code == 302
    assert answer["Location"] == reverse("conferences:conference-detail", args=[room.pk])
    shown = client.get(answer["Location"]).content.decode()
    assert "is no longer in the conference (Twilio error 20404)" in shown  # the sandbox's answer


def test_a_form_with_errors_comes_back_in_its_own_place(operator):
    room = conference("standup", operator, status=ConferenceStatus.IN_PROGRESS, sid="CF" + "9" * 32)
    client = client_for(operator)
    url = reverse("conferences:conference-settings", args=[room.pk])
    bad = {"redial_max": "99", "dropped_within_seconds": "60", "callbacks_elsewhere": "unknown"}
    answer = client.post(url, bad, HTTP_HX_REQUEST="true")
    assert answer.status_code == 422
    assert (answer["HX-Retarget"], answer["HX-Reswap"]) == ("#settings", "outerHTML")
    assert "Ensure this value is less than or equal to 10." in answer.content.decode()
    announce = reverse("conferences:conference-announce", args=[room.pk])
    wrong = client.post(announce, {"url": "ftp://x", "method": "GET"}, HTTP_HX_REQUEST="true")
    assert (wrong.status_code, wrong["HX-Retarget"]) == (422, "#announce")


def test_an_invitee_can_be_taken_off_the_list_unless_being_dialed(operator):
    room = conference("standup", operator)
    invitee = Invitee.objects.create(conference=room, number="+14155550100", name="Alice")
    url = reverse("conferences:invitee-remove", args=[room.pk, invitee.pk])
    answer = client_for(operator).post(url, HTTP_HX_REQUEST="true").content.decode()
    assert "Alice is off the list." in answer
    assert not Invitee.objects.exists()
