"""No answer depends on a number the user may not see (issue 18, finding 2): an operator
added to another operator's conference cannot learn an invitee's masked number by
checking guesses against the invite list, nor by dialing the invitee again."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from conferences.accounts import roles
from conferences.accounts.masking import mask_number
from conferences.accounts.twilio_accounts import default_account
from conferences.live import invite_import
from conferences.models import (
    Conference,
    ConferenceOperator,
    DialPreset,
    DialRequest,
    Invitee,
    RelayAllowedHost,
    User,
)
from tests.live.helpers import client_for
from tests.support.users import make_user

pytestmark = pytest.mark.django_db

SECRET = "+14155550123"  # shown to the added operator as +1 415 ••• 0123
GUESSES = [f"+1415{exchange:03d}0123" for exchange in range(200, 1000)]


@pytest.fixture
def owner(operator: User) -> User:
    return operator


@pytest.fixture
def helper(owner: User, supervisor: User) -> User:
    return make_user("hank", roles.OPERATOR)


@pytest.fixture
def room(owner: User, helper: User, supervisor: User) -> Conference:
    """The owner's conference with the owner's invitee on it; a supervisor added the helper."""
    conference = Conference.objects.create(
        account=default_account(), friendly_name="Quarterly", created_by=owner
    )
    invite_import.add_invitees(user=owner, conference=conference, text=f"{SECRET}, Alice, , vip")
    ConferenceOperator.objects.create(conference=conference, user=helper, added_by=supervisor)
    return conference


def preview_of(user: User, room: Conference, numbers: list[str]) -> invite_import.InvitePreview:
    text = "\n".join(f"{number}, guess {index}" for index, number in enumerate(numbers))
    return invite_import.read_invite_list(text, conference=room, user=user)


def test_checking_guesses_against_the_list_answers_every_look_alike_the_same(room, helper):
    preview = preview_of(helper, room, GUESSES)
    valid = [row for row in preview.rows if row.number.startswith("+1415")]
    assert any(row.number == SECRET for row in valid)
    answers = {tuple(row.problems) for row in valid}
    assert len(answers) == 1, answers  # the right guess reads like all the others
    (problems,) = answers
    assert problems and mask_number(SECRET) in problems[0]
    assert not any(
        "Already on the invite list (as" in p for row in preview.rows for p in row.problems
    )


def test_the_invite_check_page_shows_no_difference_for_the_right_guess(room, helper):
    url = reverse("conferences:invitees-import", args=[room.pk])
    client = client_for(helper)

    def page_for(number: str) -> str:
        answer = client.post(url, {"text": f"{number}, guess"}, HTTP_HX_REQUEST="true")
        assert answer.status_code == 200
        page = answer.content.decode().replace(number, "NUMBER")
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", page)

    assert page_for(SECRET) == page_for("+14156660123")  # looks the same masked
    assert "as Alice" not in page_for(SECRET)


def test_adding_guesses_adds_none_of_the_look_alikes_so_nothing_goes_missing(room, helper):
    added = invite_import.add_invitees(
        user=helper,
        conference=room,
        text="\n".join(f"{n}, guess {i}" for i, n in enumerate(GUESSES)),
    )
    assert added.added == 0
    assert Invitee.objects.filter(conference=room).count() == 1
    # A number that does not look like anyone's is added as usual.
    assert (
        invite_import.add_invitees(user=helper, conference=room, text="+14155550199, Bo").added == 1
    )


def test_the_owner_and_a_supervisor_still_hear_exactly_who_is_on_the_list(room, owner, supervisor):
    for user in (owner, supervisor):
        (row,) = preview_of(user, room, [SECRET]).rows
        assert row.problems == ["Already on the invite list (as Alice)."]


def test_dialing_someone_elses_invitee_again_never_shows_the_operator_the_number(
    room, helper, settings
):
    RelayAllowedHost.objects.create(host="hooks.example.com")
    # The helper's own preset of the invitee's preset name, relaying callbacks to them.
    DialPreset.objects.create(
        owner=helper,
        name="vip",
        values={"status_callback": "https://hooks.example.com/status", "timeout": "20"},
    )
    invitee = Invitee.objects.get(conference=room)
    client = client_for(helper)
    answer = client.post(
        reverse("conferences:invitee-dial", args=[room.pk, invitee.pk]), HTTP_HX_REQUEST="true"
    )
    assert answer.status_code == 200, answer.content
    dial = DialRequest.objects.get(operator=helper)
    assert dial.to_number == SECRET and dial.numbers_hidden_from_operator
    assert dial.relay_targets == {}  # relayed callbacks would carry To and From
    assert dial.params["Timeout"] == "20"

    national = SECRET.removeprefix("+1")
    pages = {
        "history": client.get(reverse("conferences:history")),
        "call": client.get(reverse("conferences:history-detail", args=[dial.pk])),
        "dial again": client.get(reverse("conferences:dial"), {"again": dial.pk}),
        "recent dials": client.get(reverse("conferences:recent-dials")),
        "conference": client.get(reverse("conferences:conference-detail", args=[room.pk])),
        "invite list": client.get(reverse("conferences:conference-invitees", args=[room.pk])),
    }
    for name, page in pages.items():
        assert page.status_code == 200, name
        text = page.content.decode()
        assert national not in text and "555-0123" not in text, name
    assert mask_number(SECRET) in pages["history"].content.decode()
    assert mask_number(SECRET) in pages["call"].content.decode()
    # Searching their own history for the number does not find the dial either.
    search = client.get(reverse("conferences:history"), {"number": national}).content.decode()
    assert mask_number(SECRET) not in search
