"""Helpers for the live conference tests: dial callers in, read the pages as users do."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from conferences.accounts.twilio_accounts import default_account
from conferences.live import roster as live_roster
from conferences.models import Conference, DialRequest, DialStatus, TwilioAccount, User
from tests.support.dialing import dial, refreshed
from tests.support.waiting import wait_for

STAYS = "+15005550006"  # answers and stays until removed or the conference ends
BUSY = "+15005550010"
NO_ANSWER = "+15005550011"
MACHINE = "+15005550022"  # machine_end_beep; Enable reports machine_start


def fast_account(calls_per_second: float = 50.0) -> TwilioAccount:
    """The sandbox account, paced fast enough that tests never wait for a call slot."""
    account = default_account()
    TwilioAccount.objects.filter(pk=account.pk).update(calls_per_second=calls_per_second)
    account.refresh_from_db()
    return account


def joined(operator: User, to: str, conference: str, **params: Any) -> DialRequest:
    """Dial `to` into the conference and wait until they are in it."""
    submitted = dial(operator, to, conference=conference, **params)
    wait_for(
        lambda: (
            refreshed(submitted).status == DialStatus.IN_PROGRESS
            and submitted.joined_at is not None
        ),
        timeout=20,
    )
    return submitted


def started(conference_name: str) -> Conference:
    """The conference row once Twilio has started it (its SID known, conference-start in)."""
    return wait_for(
        lambda: Conference.objects.filter(
            friendly_name=conference_name, sid__isnull=False, started_at__isnull=False
        ).first(),
        timeout=20,
    )


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def act(client: Client, conference: Conference, call_sid: str, **data: str) -> Any:
    """Press a roster button the way htmx does."""
    url = reverse("conferences:participant-action", args=[conference.pk, call_sid])
    return client.post(url, data, HTTP_HX_REQUEST="true")


def roster_of(user: User, conference: Conference) -> live_roster.Roster:
    conference.refresh_from_db()
    return live_roster.roster(user, conference)


def entry_of(user: User, conference: Conference, call_sid: str) -> live_roster.RosterEntry:
    found = roster_of(user, conference).entry(call_sid)
    assert found is not None, f"{call_sid} is not on the roster"
    return found


def roster_html(client: Client, conference: Conference) -> str:
    url = reverse("conferences:conference-roster", args=[conference.pk])
    return client.get(url, HTTP_HX_REQUEST="true").content.decode()
