"""Phone numbers are personal data: who sees them in full, and how the rest see them."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, Permission

from conferences.accounts.masking import MASK, can_see_full_numbers, mask_number, visible_number
from tests.support.users import make_user

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+14155551212", f"+1 415 {MASK} 1212"),
        ("+442079460958", f"+44 207 {MASK} 0958"),  # London
        ("+33612345678", f"+33 61 {MASK} 5678"),  # nine national digits
        ("+4930901820", f"+49 309 {MASK} 20"),  # Berlin: eight
        ("+35312345", f"+353 {MASK} 45"),  # five: the ends alone would give it away
        ("sip:alice@example.com", f"sip:{MASK}"),
        ("client:agent-7", f"client:{MASK}"),
        ("", ""),
    ],
)
def test_numbers_are_masked_keeping_country_area_and_last_four(number, masked):
    assert mask_number(number) == masked


def test_something_that_is_not_a_number_keeps_only_its_edges():
    assert mask_number("0800 FLOWERS") == f"080{MASK}RS"
    assert mask_number("12345") == MASK


@pytest.mark.parametrize(
    "number", ["+14155559876", "+442079460958", "+33612345678", "+4930901820", "+35312345"]
)
def test_a_masked_number_always_hides_at_least_three_digits(number):
    digits = sum(char.isdigit() for char in number)
    shown = sum(char.isdigit() for char in mask_number(number))
    assert digits - shown >= 3, mask_number(number)


def test_supervisors_see_every_number_in_full(supervisor, operator):
    assert visible_number(supervisor, "+14155551212", placed_by_id=operator.pk) == "+14155551212"
    assert visible_number(supervisor, "+14155551212") == "+14155551212"
    assert can_see_full_numbers(supervisor)


def test_operators_see_their_own_dials_in_full_and_others_masked(operator, supervisor):
    assert visible_number(operator, "+14155551212", placed_by_id=operator.pk) == "+14155551212"
    masked = f"+1 415 {MASK} 1212"
    assert visible_number(operator, "+14155551212", placed_by_id=supervisor.pk) == masked
    assert visible_number(operator, "+14155551212") == masked  # no dial to own it (exports)


def test_the_full_numbers_permission_can_be_granted_to_one_operator(operator, supervisor):
    other = make_user("oscar", "operator")
    grant = Permission.objects.get(codename="view_full_numbers")
    operator.user_permissions.add(grant)
    operator = type(operator).objects.get(pk=operator.pk)  # permissions are cached per object
    assert visible_number(operator, "+14155551212", placed_by_id=supervisor.pk) == "+14155551212"
    assert visible_number(other, "+14155551212", placed_by_id=supervisor.pk) != "+14155551212"


def test_the_admin_offers_the_full_numbers_permission_per_user(client, django_user_model):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-42")
    target = make_user("oscar", "operator")
    client.force_login(root)
    page = client.get(f"/admin/conferences/user/{target.pk}/change/")
    assert page.status_code == 200
    grant = Permission.objects.get(codename="view_full_numbers")
    assert f'value="{grant.pk}"'.encode() in page.content
    assert b"See full phone numbers" in page.content


def test_nobody_signed_in_sees_numbers_in_full():
    anonymous = AnonymousUser()
    assert visible_number(anonymous, "+14155551212") == f"+1 415 {MASK} 1212"
    assert visible_number(anonymous, "+14155551212", placed_by_id=None) != "+14155551212"


def test_a_user_without_a_role_sees_only_their_own_dials_in_full():
    nobody = make_user("nobody", None)
    assert visible_number(nobody, "+14155551212", placed_by_id=nobody.pk) == "+14155551212"
    assert visible_number(nobody, "+14155551212", placed_by_id=nobody.pk + 1) != "+14155551212"
