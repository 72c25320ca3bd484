"""What a dial costs a worker beyond its request to Twilio (issue 23): at CPS 50 every
write and every connection is a share of the machine."""

from __future__ import annotations

import pytest
from django.db import connection

from conferences.dialing import checks, claims, placement
from conferences.gateway import client as gateway
from conferences.gateway.types import AccountCredentials, PlacedParticipant
from conferences.models import Conference, DialRequest, DialStatus
from tests.pipeline.helpers import stored_dial
from tests.support.dialing import dial, refreshed
from tests.support.waiting import wait_for

WORKER_APPLICATION = "dial-worker-under-test"


def _worker_sessions() -> list[tuple[object, object]]:
    """(backend_start, query_start) of each open session the worker under test holds."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT backend_start, query_start FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = %s",
            [WORKER_APPLICATION],
        )
        return list(cursor.fetchall())


@pytest.mark.pipeline
@pytest.mark.xdist_group("pipeline")
def test_a_worker_keeps_its_database_connection_from_one_dial_to_the_next(
    workers, sandbox, operator
):
    # Celery's Django fixup closes the connection around every task unless told how many
    # tasks may share one: each dial then paid for a new PostgreSQL session.
    workers.start_applier()
    workers.env["DATABASE_URL"] += f"?application_name={WORKER_APPLICATION}"
    workers.start(concurrency=1)
    dials = [dial(operator, f"+1500555310{index}", conference="kept") for index in range(5)]
    wait_for(lambda: all(refreshed(d).placed_at for d in dials), timeout=60)
    first_placed = min(d.placed_at for d in dials if d.placed_at)
    last_placed = max(d.placed_at for d in dials if d.placed_at)

    kept = [
        (started, last_query)
        for started, last_query in _worker_sessions()
        if started < first_placed and last_query >= last_placed  # type: ignore[operator]
    ]
    assert kept, "no session of the worker served both the first dial and the last"


def _placed(dial_request: DialRequest, conference_sid: str) -> PlacedParticipant:
    return PlacedParticipant(
        call_sid="CA" + "7" * 32,
        conference_sid=conference_sid,
        status="queued",
        label=dial_request.label,
        queue_time_ms=0,
        response={},
    )


@pytest.mark.django_db
def test_a_conference_another_dial_confirmed_meanwhile_is_not_asked_about_again(
    operator, monkeypatch
):
    dial_request = stored_dial(operator, "confirmed-meanwhile")
    read_before_confirmed = DialRequest.objects.select_related("conference").get(pk=dial_request.pk)
    conference_sid = "CF" + "8" * 32
    Conference.objects.filter(pk=dial_request.conference_id).update(sid=conference_sid)

    def no_fetch(*args: object, **kwargs: object) -> None:
        raise AssertionError("Twilio was asked about a conference already confirmed")

    monkeypatch.setattr(gateway, "fetch_conference", no_fetch)
    credentials = AccountCredentials("AC" + "0" * 32, "AC" + "0" * 32, "token", "http://x")
    assert checks.answer_mismatch(
        read_before_confirmed, _placed(read_before_confirmed, conference_sid), credentials
    ) == ("", True)


@pytest.mark.django_db
def test_a_fresh_claim_is_not_written_again_before_its_create_and_an_older_one_is(operator):
    dial_request = stored_dial(operator, "fresh-claim", status=DialStatus.PENDING)
    claim = placement.claim_dial(dial_request.pk)
    assert claim is not None
    leased = DialRequest.objects.get(pk=dial_request.pk).claim_expires_at

    assert claim.renew_before_create()
    assert DialRequest.objects.get(pk=dial_request.pk).claim_expires_at == leased

    older = claims.Claim(claim.dial_id, claim.token, taken_at=claim.taken_at - 5)
    assert older.renew_before_create()
    assert DialRequest.objects.get(pk=dial_request.pk).claim_expires_at > leased  # type: ignore[operator]

    someone_else = claims.Claim(claim.dial_id, "not-the-holder", taken_at=claim.taken_at - 5)
    assert not someone_else.renew_before_create()
