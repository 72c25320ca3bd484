"""Who sees what is decided by the selector: operators their own dials, supervisors all."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from conferences.accounts import roles
from conferences.history import filters as history_filters
from conferences.models import DialStatus
from tests.history.helpers import make_dial, row_ids
from tests.support.users import make_user

pytestmark = pytest.mark.django_db

OTHERS_NUMBER = "+14155550177"


@pytest.fixture
def two_operators(operator):
    other = make_user("omar", roles.OPERATOR)
    own = make_dial(operator, to="+14155550123")
    others = make_dial(other, to=OTHERS_NUMBER, status=DialStatus.RINGING)
    return own, others


def test_the_selector_scopes_operators_to_their_own_dials(operator, supervisor, two_operators):
    own, others = two_operators
    assert set(history_filters.visible_dials(operator)) == {own}
    assert set(history_filters.visible_dials(supervisor)) == {own, others}


def test_an_operator_lists_only_their_own_dials_whatever_the_filters_say(
    client, operator, two_operators
):
    own, others = two_operators
    client.force_login(operator)
    url = reverse("conferences:history")
    assert row_ids(client.get(url).content.decode()) == [own.pk]
    # Asking for the other operator's dials by name changes nothing.
    response = client.get(url, {"operator": others.operator_id})
    assert row_ids(response.content.decode()) == []
    assert OTHERS_NUMBER not in client.get(url, {"number": "0177"}).content.decode()


def test_an_operator_cannot_open_another_operators_call(client, operator, two_operators):
    own, others = two_operators
    client.force_login(operator)
    assert client.get(reverse("conferences:history-detail", args=[own.pk])).status_code == 200
    assert client.get(reverse("conferences:history-detail", args=[others.pk])).status_code == 404


def test_live_updates_never_carry_another_operators_row(client, operator, two_operators):
    _own, others = two_operators
    client.force_login(operator)
    response = client.get(reverse("conferences:history-live"), {"row": [f"{others.pk}:0:ringing"]})
    assert f'id="dial-{others.pk}"' not in response.content.decode()
    assert response.status_code == 286  # nothing of theirs is live: stop polling


def test_export_and_overview_are_for_supervisors(client, operator, supervisor, two_operators):
    client.force_login(operator)
    assert client.get(reverse("conferences:history-export")).status_code == 403
    assert client.get(reverse("conferences:history-overview")).status_code == 403
    page = client.get(reverse("conferences:history")).content.decode()
    assert "Export CSV" not in page and "Overview" not in page
    client.force_login(supervisor)
    assert client.get(reverse("conferences:history-export")).status_code == 200
    assert client.get(reverse("conferences:history-overview")).status_code == 200


def test_a_user_without_a_role_sees_no_history(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("nobody", password="x"))
    assert client.get(reverse("conferences:history")).status_code == 403
    assert client.get(reverse("conferences:history-live")).status_code == 403


def test_numbers_of_other_operators_stay_masked_for_someone_who_may_see_all_calls_but_not_numbers(
    client, two_operators
):
    own, others = two_operators
    auditor = make_user("ana", None)
    auditor.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_own_calls", "view_all_calls"])
    )
    client.force_login(auditor)
    listing = client.get(reverse("conferences:history")).content.decode()
    assert set(row_ids(listing)) == {own.pk, others.pk}
    assert OTHERS_NUMBER not in listing
    assert "+1 415 ••• 0177" in listing
    detail = client.get(reverse("conferences:history-detail", args=[others.pk])).content.decode()
    assert OTHERS_NUMBER not in detail
    # Searching by digits would reveal a masked number one guess at a time: only own dials.
    search = client.get(reverse("conferences:history"), {"number": "0177"})
    assert row_ids(search.content.decode()) == []
