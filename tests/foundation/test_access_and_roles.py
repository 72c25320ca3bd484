from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse

from conferences.accounts import roles
from tests.support.users import PASSWORD

pytestmark = pytest.mark.django_db

PAGES = ["conferences:dial", "conferences:history", "conferences:conference-list"]


@pytest.mark.parametrize("page", PAGES)
def test_pages_require_signing_in(client, page):
    url = reverse(page)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_admin_requires_signing_in(client):
    assert client.get("/admin/").status_code == 302


@pytest.mark.parametrize("role", roles.ROLES)
def test_every_action_in_the_table_is_granted_exactly_to_its_roles(role, operator, supervisor):
    user = {roles.OPERATOR: operator, roles.SUPERVISOR: supervisor}[role]
    for action in roles.ACTIONS:
        assert roles.user_can(user, action.codename) is (role in action.roles), action.codename


def test_a_user_without_a_role_can_do_nothing(django_user_model):
    user = django_user_model.objects.create_user("nobody", password=PASSWORD)
    assert not any(roles.user_can(user, action.codename) for action in roles.ACTIONS)


def test_supervisors_see_more_than_operators():
    only_supervisor = {a.codename for a in roles.ACTIONS if a.roles == {roles.SUPERVISOR}}
    assert {"view_all_calls", "export_history", "view_full_numbers"} <= only_supervisor


def test_readme_shows_the_same_action_role_table():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert roles.markdown_table() in readme


def test_both_roles_can_open_their_pages(client, operator, supervisor):
    for user in (operator, supervisor):
        client.force_login(user)
        for page in PAGES:
            assert client.get(reverse(page)).status_code == 200, (user, page)


def test_a_user_without_a_role_is_refused_the_dial_page(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("nobody", password=PASSWORD))
    response = client.get(reverse("conferences:dial"))
    assert response.status_code == 403
    assert b"Not allowed" in response.content


def test_signing_in_through_the_form_lands_on_the_dial_page(client, operator):
    response = client.post(reverse("login"), {"username": "olivia", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("conferences:dial")


def test_repeated_wrong_passwords_lock_the_account_even_for_the_right_password(
    client, operator, settings
):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(reverse("login"), {"username": "olivia", "password": "wrong"})
    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.content
    response = client.post(reverse("login"), {"username": "olivia", "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_sessions_expire(settings):
    assert settings.SESSION_COOKIE_AGE <= 24 * 3600
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True


def test_each_request_runs_in_the_signed_in_users_time_zone(rf, operator):
    from django.http import HttpResponse
    from django.utils import timezone

    from conferences.accounts.middleware import UserTimeZoneMiddleware

    seen: list[str] = []

    def view(request):
        seen.append(timezone.get_current_timezone_name())
        return HttpResponse()

    operator.time_zone = "Asia/Tokyo"
    request = rf.get("/")
    request.user = operator
    UserTimeZoneMiddleware(view)(request)
    operator.time_zone = "America/Chicago"
    UserTimeZoneMiddleware(view)(request)
    assert seen == ["Asia/Tokyo", "America/Chicago"]
