"""The audit trail: written for each action, filtered by supervisors, changed by nobody."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from conferences.audit import trail as audit
from conferences.audit.trail import AuditAction
from conferences.models import AuditEntry, DialRequest
from conferences.operations import retention
from tests.support.callbacks import make_dial
from tests.support.users import make_user

pytestmark = pytest.mark.django_db

URL = reverse("conferences:audit-trail")


@pytest.fixture
def trail(operator, supervisor):
    """Entries by two people about two conferences over three days (Europe/Berlin)."""
    berlin = ZoneInfo("Europe/Berlin")
    first = make_dial(operator, label="first")
    second = make_dial(supervisor, label="second", call_sid="CA" + "2" * 32)
    first.conference.friendly_name = "board-meeting"
    first.conference.save()
    entries = [
        audit.record(AuditAction.DIAL, actor=operator, dial=first),
        audit.record(AuditAction.RECONCILE, actor=supervisor, dial=first, outcome="failed"),
        audit.record(AuditAction.EXPORT, actor=supervisor, target_type="history"),
        audit.record(AuditAction.DIAL, actor=supervisor, dial=second),
    ]
    moments = [
        datetime(2026, 3, 1, 23, 30, tzinfo=berlin),  # 22:30 UTC: still March 1st in Berlin
        datetime(2026, 3, 2, 9, 0, tzinfo=berlin),
        datetime(2026, 3, 2, 12, 0, tzinfo=berlin),
        datetime(2026, 3, 3, 0, 30, tzinfo=berlin),
    ]
    for entry, moment in zip(entries, moments, strict=True):
        AuditEntry.objects.filter(pk=entry.pk).update(at=moment)
    return {"first": first, "second": second, "entries": entries}


def shown(client, **query):
    response = client.get(URL, query)
    assert response.status_code == 200
    return [row["entry"].pk for row in response.context["rows"]]


def test_supervisors_filter_by_operator_conference_action_and_date(client, supervisor, trail):
    supervisor.time_zone = "Europe/Berlin"
    supervisor.save()
    client.force_login(supervisor)
    dial_1, reconcile_1, export, dial_2 = (entry.pk for entry in trail["entries"])
    assert shown(client) == [dial_2, export, reconcile_1, dial_1]  # newest first
    assert shown(client, actor=supervisor.pk) == [dial_2, export, reconcile_1]
    assert shown(client, action="dial") == [dial_2, dial_1]
    assert shown(client, conference="board") == [reconcile_1, dial_1]
    assert shown(client, conference=str(trail["second"].conference_id)) == [dial_2]
    # Dates are the viewer's days: 2026-03-02 in Berlin.
    assert shown(client, date_from="2026-03-02", date_to="2026-03-02") == [export, reconcile_1]
    assert shown(client, date_from="2026-03-03") == [dial_2]
    assert shown(client, action="dial", actor=supervisor.pk) == [dial_2]


def test_the_filtered_list_is_also_an_htmx_fragment(client, supervisor, trail):
    client.force_login(supervisor)
    page = client.get(URL, {"action": "dial"})
    assert "<h1>Audit trail</h1>" in page.content.decode()
    assert "HX-Request" in page["Vary"]
    fragment = client.get(URL, {"action": "dial"}, headers={"HX-Request": "true"})
    html = fragment.content.decode()
    assert "<h1>" not in html
    assert "2 entries" in html


def test_operators_may_not_read_the_trail(client, operator, trail):
    client.force_login(operator)
    assert client.get(URL).status_code == 403


def test_numbers_on_the_trail_are_masked_for_a_viewer_without_full_numbers(client, trail):
    # An auditor granted the trail alone (through the admin) sees other people's numbers
    # masked, as everywhere else.
    auditor = make_user("audrey", None)
    auditor.user_permissions.add(Permission.objects.get(codename="view_audit_trail"))
    client.force_login(auditor)
    html = client.get(URL).content.decode()
    assert "+1 415 ••• 0142" in html
    assert "+14155550142" not in html


def test_supervisors_see_full_numbers_on_the_trail(client, supervisor, trail):
    client.force_login(supervisor)
    assert "+14155550142" in client.get(URL).content.decode()


def test_reconcile_purge_and_self_test_each_leave_an_entry(operator, supervisor, settings):
    dial = make_dial(operator, call_sid="")
    DialRequest.objects.filter(pk=dial.pk).update(created_at=timezone.now() - timedelta(days=40))
    from conferences.operations import reconcile

    reconcile.reconcile_on_request(actor=supervisor, target="dial", pk=dial.pk)
    retention.purge_personal_data(days=30, actor=supervisor, trigger="test")
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {AuditAction.RECONCILE, AuditAction.PURGE} <= actions
    purge = AuditEntry.objects.get(action=AuditAction.PURGE)
    assert purge.detail["dials"] == 1
    assert purge.actor == supervisor
    # No personal data in what the ops actions record.
    for entry in AuditEntry.objects.all():
        assert "4155550142" not in str(entry.detail)


def test_an_entry_cannot_be_changed_or_deleted_through_the_model(trail):
    entry = trail["entries"][0]
    entry.action = "something-else"
    with pytest.raises(ValueError, match="append-only"):
        entry.save()
    with pytest.raises(ValueError, match="append-only"):
        entry.delete()
    assert AuditEntry.objects.get(pk=entry.pk).action == AuditAction.DIAL


def test_the_admin_shows_entries_read_only_even_to_superusers(client, trail, django_user_model):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-42")
    client.force_login(root)
    entry = trail["entries"][0]
    base = "/admin/conferences/auditentry/"
    assert client.get(base).status_code == 200
    page = client.get(f"{base}{entry.pk}/change/")
    assert page.status_code == 200
    assert b'name="action"' not in page.content  # shown, not editable
    assert b"Save" not in page.content
    assert client.post(f"{base}{entry.pk}/change/", {"action": "x"}).status_code == 403
    assert client.get(f"{base}add/").status_code == 403
    assert client.post(f"{base}{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    bulk = client.post(base, {"action": "delete_selected", "_selected_action": [entry.pk]})
    assert bulk.status_code in (200, 302)
    assert AuditEntry.objects.filter(pk=entry.pk).exists()
    assert AuditEntry.objects.get(pk=entry.pk).action == AuditAction.DIAL


def test_supervisors_may_read_entries_in_the_admin_and_operators_may_not(
    client, trail, supervisor, operator
):
    client.force_login(supervisor)
    assert client.get("/admin/conferences/auditentry/").status_code == 200
    operator.is_staff = True
    operator.save()
    client.force_login(operator)
    assert client.get("/admin/conferences/auditentry/").status_code == 403
