"""Nobody gets into a conference another operator runs (issue 18, finding 1): not by
dialing into it by name or SID, not through the name suggestions, not by having dialed
into it once; only a supervisor's explicit addition lets a second operator in."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.urls import reverse

from conferences.accounts import roles
from conferences.accounts.twilio_accounts import default_account
from conferences.audit.trail import AuditAction
from conferences.dialing import submission as dial_submission
from conferences.live import actions as live_actions
from conferences.live import operators as live_operators
from conferences.models import (
    AuditEntry,
    Conference,
    ConferenceOperator,
    ConferenceStatus,
    DialRequest,
    DialStatus,
    User,
)
from tests.live.helpers import client_for
from tests.support.users import make_user

pytestmark = pytest.mark.django_db

CALL = "CA" + "7" * 32
SID = "CF" + "7" * 32


@pytest.fixture
def owner(operator: User) -> User:
    return operator


@pytest.fixture
def intruder() -> User:
    return make_user("otto", roles.OPERATOR)


@pytest.fixture
def board(owner: User) -> Conference:
    """A live conference its owner runs, with one caller in it."""
    conference = Conference.objects.create(
        account=default_account(),
        friendly_name="Board call",
        sid=SID,
        status=ConferenceStatus.IN_PROGRESS,
        created_by=owner,
    )
    DialRequest.objects.create(
        account=conference.account,
        conference=conference,
        operator=owner,
        to_number="+15005550006",
        from_number="+15005550006",
        label="chair",
        call_sid=CALL,
        status=DialStatus.IN_PROGRESS,
    )
    return conference


def dial_form(user: User, conference: str, **extra: str):
    return client_for(user).post(
        reverse("conferences:dial-submit"),
        {
            "conference": conference,
            "to": "+15005550006",
            "from": "+15005550006",
            "action": "dial",
            **extra,
        },
        HTTP_HX_REQUEST="true",
    )


def may_see(user: User, conference: Conference) -> bool:
    url = reverse("conferences:conference-detail", args=[conference.pk])
    return client_for(user).get(url).status_code == 200


def mute(user: User, conference: Conference) -> None:
    live_actions.act_on_participant(
        user=user,
        conference=conference,
        call_sid=CALL,
        command=live_actions.ParticipantCommand(action="mute"),
    )


@pytest.mark.parametrize("named_by", ["friendly name", "SID"])
def test_dialing_into_another_operators_conference_is_refused_in_the_form(
    board, intruder, named_by
):
    name = board.friendly_name if named_by == "friendly name" else board.sid
    answer = dial_form(intruder, name)
    assert answer.status_code == 200
    page = answer.content.decode()
    assert "already running, run by another operator" in page
    assert "ask a supervisor to add you" in page
    assert 'value="' + name + '"' in page  # what was typed stays in the form
    assert not DialRequest.objects.filter(operator=intruder).exists()
    refused = AuditEntry.objects.get(action=AuditAction.DIAL, outcome="refused")
    assert refused.actor == intruder
    assert not may_see(intruder, board)


def test_a_dial_that_got_in_before_grants_nothing(board, intruder):
    """Rows from before the rule (or a supervisor's dial on someone's behalf) give no
    control: only ownership or an explicit addition does."""
    DialRequest.objects.create(
        account=board.account,
        conference=board,
        operator=intruder,
        to_number="+15005550011",
        from_number="+15005550006",
        label="failed-at-once",
        status=DialStatus.FAILED,
    )
    assert not may_see(intruder, board)
    with pytest.raises(PermissionDenied):
        mute(intruder, board)
    url = reverse("conferences:conference-announce", args=[board.pk])
    answer = client_for(intruder).post(url, {"url": "https://example.com/a.mp3"})
    assert answer.status_code == 404


def test_the_name_suggestions_show_only_conferences_the_user_may_use(board, owner, intruder):
    Conference.objects.create(
        account=board.account, friendly_name="Otto's huddle", created_by=intruder
    )
    mine = client_for(owner).get(reverse("conferences:dial")).content.decode()
    theirs = client_for(intruder).get(reverse("conferences:dial")).content.decode()
    assert 'value="Board call"' in mine and "Otto&#x27;s huddle" not in mine
    assert 'value="Board call"' not in theirs and "Otto&#x27;s huddle" in theirs


def test_once_it_ended_the_name_is_free_for_a_new_conference(board, intruder):
    Conference.objects.filter(pk=board.pk).update(status=ConferenceStatus.COMPLETED)
    assert dial_form(intruder, board.friendly_name).status_code == 201
    fresh = DialRequest.objects.get(operator=intruder).conference
    assert fresh.pk != board.pk and fresh.created_by == intruder


def test_a_supervisor_adds_an_operator_who_may_then_dial_see_and_act(board, intruder, supervisor):
    add_url = reverse("conferences:conference-operator-add", args=[board.pk])
    # An operator cannot add themselves, nor anyone else.
    assert client_for(intruder).post(add_url, {"operator": intruder.pk}).status_code == 403
    owner_client = client_for(board.created_by)
    assert owner_client.post(add_url, {"operator": intruder.pk}).status_code == 403

    added = client_for(supervisor).post(add_url, {"operator": intruder.pk}, HTTP_HX_REQUEST="true")
    assert "otto now runs Board call too." in added.content.decode()
    assert ConferenceOperator.objects.filter(conference=board, user=intruder).exists()
    assert may_see(intruder, board)
    assert dial_form(intruder, board.friendly_name).status_code == 201
    page = client_for(intruder).get(reverse("conferences:conference-detail", args=[board.pk]))
    assert "Who runs it" in page.content.decode() and "added by sam" in page.content.decode()

    remove_url = reverse("conferences:conference-operator-remove", args=[board.pk, intruder.pk])
    assert client_for(intruder).post(remove_url).status_code == 403
    client_for(supervisor).post(remove_url, HTTP_HX_REQUEST="true")
    assert not may_see(intruder, board)
    assert "already running" in dial_form(intruder, board.friendly_name).content.decode()
    actions = set(AuditEntry.objects.filter(conference=board).values_list("action", flat=True))
    assert {AuditAction.ADD_OPERATOR, AuditAction.REMOVE_OPERATOR} <= actions


def test_only_operators_who_do_not_run_it_yet_can_be_added(board, owner, supervisor):
    other_supervisor = make_user("sue", roles.SUPERVISOR)
    choices = set(live_operators.addable_operators(board))
    assert owner not in choices and other_supervisor not in choices
    with pytest.raises(live_actions.LiveActionRefused):
        live_operators.add_operator(user=supervisor, conference=board, operator=owner)


@pytest.mark.django_db(transaction=True)
def test_two_operators_naming_a_new_conference_at_once_get_one_owner(operator, intruder):
    """The name is held for the transaction: the second waits, then is refused."""
    account = default_account()
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def name_it(user: User) -> None:
        try:
            barrier.wait(timeout=5)
            with transaction.atomic():
                dial_submission.conference_for(account, "Launch", user)
            outcomes[user.username] = "got it"
        except dial_submission.ConferenceRefused:
            outcomes[user.username] = "refused"
        finally:
            connection.close()

    threads = [threading.Thread(target=name_it, args=(user,)) for user in (operator, intruder)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert sorted(outcomes.values()) == ["got it", "refused"]
    assert Conference.objects.filter(friendly_name="Launch").count() == 1
