"""The CSV export: the current filter, streamed, masked, audited and safe in a spreadsheet."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.db.models.signals import post_init
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conferences.accounts import roles, twilio_accounts
from conferences.audit.trail import AuditAction
from conferences.history import export
from conferences.models import AuditEntry, DialAttempt, DialRequest, DialStatus
from tests.history.helpers import conference, make_dial
from tests.support.users import make_user

pytestmark = pytest.mark.django_db

URL = reverse("conferences:history-export")
T0 = datetime(2025, 1, 14, 16, 2, 0, tzinfo=UTC)


def read_csv(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")  # so Excel reads UTF-8
    return list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff"))))


def test_the_export_has_a_header_iso_utc_times_and_the_calls_of_the_filter(
    client, supervisor, operator
):
    kept = make_dial(
        operator,
        conference_name="board",
        created_at=T0,
        answered_after=4.4,
        in_conference_for=61,
        answered_by="human",
        call_duration_seconds=66,
        end_reason="participant_hung_up",
        sip_response_code=200,
        call_sid="CA" + "a" * 32,
    )
    DialAttempt.objects.create(dial=kept, number=1, outcome=DialAttempt.Outcome.PLACED)
    make_dial(operator, conference_name="other", created_at=T0)
    client.force_login(supervisor)
    response = client.get(URL, {"conference": "board"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="call-history-')
    rows = read_csv(response)
    assert list(rows[0]) == [column.header for column in export.COLUMNS]
    assert len(rows) == 1
    row = rows[0]
    assert row["dial_id"] == str(kept.pk)
    assert row["created_at_utc"] == "2025-01-14T16:02:00Z"
    assert row["answered_at_utc"] == "2025-01-14T16:02:04Z"
    assert row["time_to_answer_seconds"] == "4"
    assert row["time_in_conference_seconds"] == "61"
    assert row["call_duration_seconds"] == "66"
    assert row["operator"] == "olivia"
    assert row["attempts"] == "1"
    assert row["status"] == "completed"


def test_e164_numbers_export_as_they_are_other_numbers_stay_text_formulas_are_escaped(
    client, supervisor, operator
):
    mallory = make_user("-mallory", roles.OPERATOR)
    make_dial(
        mallory,
        conference_name="@SUM(1+1)",
        to="+14155550142",
        from_="4155550100",
        label='=HYPERLINK("http://evil.example","click")',
        status=DialStatus.FAILED,
        error_code=21211,
        error_message="+1 is not a number",
        failure_reason="\tcmd",
    )
    make_dial(operator, to="sip:alice@example.com", label="plain")
    client.force_login(supervisor)
    rows = {row["label"]: row for row in read_csv(client.get(URL))}
    evil = rows['\'=HYPERLINK("http://evil.example","click")']
    assert evil["to"] == "+14155550142"  # E.164 as validated: no formula fits in one
    assert evil["from"] == "'4155550100"  # a leading digit: kept as text, zeros and all
    assert evil["conference"] == "'@SUM(1+1)"
    assert evil["operator"] == "'-mallory"
    assert evil["error_message"] == "'+1 is not a number"
    assert evil["failure_reason"] == "'\tcmd"
    assert evil["error_code"] == "21211"  # a number we wrote: left as a number
    assert rows["plain"]["to"] == "sip:alice@example.com"
    for row in rows.values():
        for column, value in row.items():
            if export.E164_NUMBER.fullmatch(value) and column in ("to", "from"):
                continue  # a validated number: no formula fits in one
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value


def test_masking_applies_to_exports_too(client, operator):
    other = make_user("omar", roles.OPERATOR)
    make_dial(other, to="+14155550177", label="theirs")
    make_dial(operator, to="+14155550123", label="mine")
    reviewer = make_user("rita", roles.OPERATOR)
    reviewer.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_all_calls", "export_history"])
    )
    client.force_login(reviewer)
    rows = {row["label"]: row for row in read_csv(client.get(URL))}
    assert rows["theirs"]["to"] == "'+1 415 ••• 0177"
    assert rows["mine"]["to"] == "'+1 415 ••• 0123"  # not rita's own dial either


def test_each_export_is_audited_with_its_filters(client, supervisor, operator):
    make_dial(operator)
    client.force_login(supervisor)
    response = client.get(URL, {"status": ["busy", "failed"], "range": "7d"})
    b"".join(response.streaming_content)
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert entry.actor == supervisor
    assert entry.detail["filters"] == [["status", "busy"], ["status", "failed"], ["range", "7d"]]


def test_operators_may_not_export(client, operator):
    client.force_login(operator)
    assert client.get(URL).status_code == 403
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()


def test_the_export_streams_its_first_bytes_before_the_query_has_produced_every_row(
    client, supervisor, operator
):
    total = export.CHUNK_SIZE * 2 + 500
    account = twilio_accounts.default_account()
    board = conference("bulk", operator)
    DialRequest.objects.bulk_create(
        DialRequest(
            account=account,
            conference=board,
            operator=operator,
            created_at=T0 + timedelta(seconds=i),
            status=DialStatus.COMPLETED,
            to_number="+14155550142",
            from_number="+15005550006",
            label=f"bulk-{i}",
        )
        for i in range(total)
    )
    client.force_login(supervisor)
    response = client.get(URL)
    assert response.streaming

    rows_made: list[int] = []

    def count_rows(sender, instance, **kwargs):
        rows_made.append(instance.pk)

    post_init.connect(count_rows, sender=DialRequest)
    try:
        chunks = iter(response.streaming_content)
        with CaptureQueriesContext(connection) as before_any_row:
            header = next(chunks)
        assert header.startswith("\ufeffdial_id,".encode())
        assert not [q for q in before_any_row.captured_queries if "dialrequest" in q["sql"]]

        first_rows = next(chunks)
        assert first_rows.count(b"\r\n") == export.ROWS_PER_WRITE
        # Only the rows written so far exist as objects, and the server-side cursor that
        # feeds the rest is still open in PostgreSQL.
        assert len(rows_made) == export.ROWS_PER_WRITE < total
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_cursors")
            assert cursor.fetchone()[0] >= 1
        rest = b"".join(chunks)
    finally:
        post_init.disconnect(count_rows, sender=DialRequest)
    assert (first_rows + rest).count(b"\r\n") == total
    assert len(rows_made) == total
