"""What a first run needs (issue 20): the supervisor's admin reaches users and their time
zones, account CPS and shared presets, with plurals in English; the "Reconcile now" button
the docs promise is on the call and conference pages; idle Celery keeps quiet."""

from __future__ import annotations

import logging

import pytest
from django.conf import settings
from django.urls import reverse

from conferences.accounts import roles
from conferences.accounts.twilio_accounts import default_account
from conferences.models import Conference, DialRequest, DialStatus
from tests.support.users import make_user

pytestmark = pytest.mark.django_db


def test_the_supervisors_admin_lists_users_accounts_and_presets_in_plain_english(
    client, supervisor
):
    client.force_login(supervisor)
    html = client.get(reverse("admin:index")).content.decode()
    for model in ("Users", "Twilio accounts", "Dial presets", "Audit entries"):
        assert f">{model}<" in html, model
    assert "entrys" not in html and "deliverys" not in html and "tallys" not in html


def test_a_supervisor_sets_a_users_time_zone_but_never_superuser_status(client, supervisor):
    olivia = make_user("olivia", roles.OPERATOR)
    client.force_login(supervisor)
    url = reverse("admin:conferences_user_change", args=[olivia.pk])
    page = client.get(url).content.decode()
    assert 'name="time_zone"' in page
    assert 'name="is_superuser"' not in page  # shown, not editable
    root = make_user("root", None, is_staff=True, is_superuser=True)
    answer = client.get(reverse("admin:conferences_user_change", args=[root.pk]))
    assert answer.status_code == 200
    assert 'name="username"' not in answer.content.decode()  # read-only for them


def test_a_supervisor_changes_an_accounts_calls_per_second(client, supervisor):
    account = default_account()
    client.force_login(supervisor)
    url = reverse("admin:conferences_twilioaccount_change", args=[account.pk])
    page = client.get(url).content.decode()
    assert 'name="calls_per_second"' in page and "auth_token" not in page
    client.post(url, {"name": account.name, "calls_per_second": "3.5", "caller_ids": "[]"})
    account.refresh_from_db()
    assert account.calls_per_second == 3.5


def test_operators_do_not_reach_the_admin(client, operator):
    client.force_login(operator)
    answer = client.get(reverse("admin:conferences_user_changelist"))
    assert answer.status_code == 302  # to the admin's sign-in: they are not staff


def test_reconcile_now_is_on_a_calls_page_and_a_conferences_page_for_supervisors(
    client, supervisor, operator
):
    conference = Conference.objects.create(
        account=default_account(), friendly_name="Board call", sid="CF" + "e" * 32
    )
    dial = DialRequest.objects.create(
        account=conference.account,
        conference=conference,
        operator=operator,
        to_number="+15005550006",
        from_number="+15005550006",
        label="bob",
        call_sid="CA" + "e" * 32,
        status=DialStatus.COMPLETED,
    )
    pages = [
        reverse("conferences:history-detail", args=[dial.pk]),
        reverse("conferences:conference-detail", args=[conference.pk]),
    ]
    client.force_login(supervisor)
    for url in pages:
        assert ">Reconcile now</button>" in client.get(url).content.decode(), url
    client.force_login(operator)
    for url in pages:
        assert "Reconcile now" not in client.get(url).content.decode(), url


def test_idle_celery_logs_no_line_per_routine_task():
    assert settings.ROUTINE_CELERY_LOG_LEVEL == "WARNING"
    for name in ("celery.beat", "celery.app.trace", "celery.worker.strategy"):
        assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING, name
