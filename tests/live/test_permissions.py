"""Who may act on which conference, per the action x role table: operators on conferences
they run, that is own or were added to by a supervisor (act_on_own_conference), supervisors
on all (act_on_any_conference), only supervisors end one (end_conference). Dialing into a
conference grants nothing. Checked in the services, not only on the page."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from conferences.accounts import roles
from conferences.accounts.twilio_accounts import default_account
from conferences.live import actions as live_actions
from conferences.live import invite_dialing, invite_import
from conferences.models import Conference, DialRequest, DialStatus, Invitee, User
from tests.live.helpers import client_for
from tests.support.users import make_user

pytestmark = pytest.mark.django_db

CALL = "CA" + "5" * 32


@pytest.fixture
def room(operator: User, sandbox, settings) -> Conference:
    """A conference the operator runs and dialed into; Twilio (the sandbox) does not know
    its SID."""
    settings.TWILIO_API_BASE_URL = sandbox.url
    conference = Conference.objects.create(
        account=default_account(), friendly_name="standup", sid="CF" + "e" * 32, created_by=operator
    )
    DialRequest.objects.create(
        account=conference.account,
        conference=conference,
        operator=operator,
        to_number="+15005550006",
        from_number="+15005550006",
        label="alice",
        call_sid=CALL,
        status=DialStatus.IN_PROGRESS,
    )
    return conference


def mute(user: User, room: Conference):
    url = reverse("conferences:participant-action", args=[room.pk, CALL])
    return client_for(user).post(url, {"action": "mute"}, HTTP_HX_REQUEST="true")


def test_the_role_table_gives_operators_their_own_conferences_and_supervisors_all():
    table = {action.codename: action.roles for action in roles.ACTIONS}
    assert table["act_on_own_conference"] == {roles.OPERATOR, roles.SUPERVISOR}
    assert table["act_on_any_conference"] == {roles.SUPERVISOR}
    assert table["end_conference"] == {roles.SUPERVISOR}


def test_an_operator_acts_on_a_conference_they_run(room, operator):
    answer = mute(operator, room)
    assert answer.status_code == 200
    # It reached Twilio, which does not know this conference: said in words.
    assert "is no longer in the conference (Twilio error 20404)" in answer.content.decode()


def test_an_operator_cannot_see_or_act_on_someone_elses_conference(room):
    stranger = make_user("otto", roles.OPERATOR)
    assert mute(stranger, room).status_code == 404
    with pytest.raises(PermissionDenied):
        live_actions.act_on_participant(
            user=stranger,
            conference=room,
            call_sid=CALL,
            command=live_actions.ParticipantCommand(action="mute"),
        )


def test_a_supervisor_acts_on_any_conference(room, supervisor):
    assert "Twilio error 20404" in mute(supervisor, room).content.decode()


def test_only_supervisors_end_a_conference(room, operator, supervisor):
    url = reverse("conferences:conference-end", args=[room.pk])
    assert client_for(operator).post(url, HTTP_HX_REQUEST="true").status_code == 403
    assert client_for(operator).get(url).status_code == 403
    with pytest.raises(PermissionDenied):
        live_actions.end_conference(user=operator, conference=room)
    page = client_for(operator).get(reverse("conferences:conference-detail", args=[room.pk]))
    assert "End the conference for everyone" not in page.content.decode()
    ended = client_for(supervisor).post(url, HTTP_HX_REQUEST="true").content.decode()
    assert "Could not end the conference" in ended  # permitted; Twilio had no such conference
    page = client_for(supervisor).get(reverse("conferences:conference-detail", args=[room.pk]))
    assert "End the conference for everyone" in page.content.decode()


def test_a_user_without_a_role_sees_no_conferences(room):
    nobody = make_user("nora", None)
    assert client_for(nobody).get(reverse("conferences:conference-list")).status_code == 403
    assert mute(nobody, room).status_code == 403


def test_bulk_dialing_and_invite_lists_follow_the_same_rule(room, operator):
    stranger = make_user("otto", roles.OPERATOR)
    with pytest.raises(PermissionDenied):
        invite_import.add_invitees(user=stranger, conference=room, text="+14155550100, Alice")
    with pytest.raises(PermissionDenied):
        invite_dialing.dial_all_missing(user=stranger, conference=room, caller_id="+15005550006")
    added = invite_import.add_invitees(user=operator, conference=room, text="+14155550100, Alice")
    assert added.added == 1
    invitee = Invitee.objects.get()
    url = reverse("conferences:invitee-dial", args=[room.pk, invitee.pk])
    assert client_for(stranger).post(url).status_code == 404
