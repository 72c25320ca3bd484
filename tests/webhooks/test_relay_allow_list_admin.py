"""Supervisors keep the relay allow-list in the admin; operators cannot touch it."""

from __future__ import annotations

import pytest

from conferences.models import RelayAllowedHost, WebhookRejection
from tests.support.users import make_user

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/conferences/relayallowedhost/add/"


def test_a_supervisor_adds_an_allowed_host(client, supervisor):
    client.force_login(supervisor)
    response = client.post(ADD_URL, {"host": "Hooks.Example.com", "port": "", "active": "on"})
    assert response.status_code == 302
    entry = RelayAllowedHost.objects.get()
    assert (entry.host, entry.port, entry.active) == ("hooks.example.com", None, True)
    assert entry.created_by == supervisor


def test_a_supervisor_sees_the_rejection_counters_but_cannot_edit_them(client, supervisor):
    client.force_login(supervisor)
    assert client.get("/admin/conferences/webhookrejection/").status_code == 200
    assert client.get("/admin/conferences/webhookrejection/add/").status_code == 403
    assert client.get("/admin/conferences/relaydelivery/").status_code == 200


def test_an_operator_cannot_open_the_allow_list(client, operator):
    client.force_login(operator)
    assert client.get(ADD_URL).status_code == 302  # not staff: sent to the admin login
    assert not RelayAllowedHost.objects.exists()


def test_staff_without_the_supervisor_role_cannot_change_it(client):
    staff = make_user("stan", "operator", is_staff=True)
    client.force_login(staff)
    assert client.get(ADD_URL).status_code == 403
    assert client.post(ADD_URL, {"host": "evil.example.com"}).status_code == 403
    assert not RelayAllowedHost.objects.exists()
    assert not WebhookRejection.objects.exists()
