"""The sandbox's own endpoints: journal, reset, health and the page for people."""

from __future__ import annotations

import json

import requests

from tests.sandbox.helpers import ACCOUNT_SID, AUTH_TOKEN, FROM, Receiver
from tests.support.waiting import wait_for
from twilio_sandbox import Sandbox


def test_requests_journal_redacts_sip_password_and_never_keeps_authorization(
    sandbox: Sandbox, client
) -> None:
    client.conferences("journal").participants.create(
        from_="alice",
        to="sip:bob@sip.example.com",
        sip_auth_username="bob",
        sip_auth_password="hunter2",
    )
    body = requests.get(f"{sandbox.url}/_sandbox/requests", timeout=5).json()
    (entry,) = body["requests"]
    assert entry["method"] == "POST"
    assert (
        entry["path"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Conferences/journal/Participants.json"
    )
    assert entry["account_sid"] == ACCOUNT_SID
    assert entry["status"] == 201
    assert entry["params"]["SipAuthPassword"] == ["[redacted]"]
    assert entry["params"]["SipAuthUsername"] == ["bob"]
    raw = json.dumps(body)
    assert "hunter2" not in raw
    assert AUTH_TOKEN not in raw
    assert "Authorization" not in raw


def test_callbacks_journal_lists_what_was_sent_with_filters(
    sandbox: Sandbox, client, receiver: Receiver
) -> None:
    participant = client.conferences("sent").participants.create(
        from_=FROM, to="+15005551001", status_callback=f"{receiver.url}/status"
    )
    receiver.wait("/status", 1)
    url = f"{sandbox.url}/_sandbox/callbacks?call_sid={participant.call_sid}&kind=call-status"
    (entry,) = wait_for(
        lambda: [
            c
            for c in requests.get(url, timeout=5).json()["callbacks"]
            if c["status"] == "delivered"
        ],
        timeout=10,
        interval=0.01,
    )
    assert entry["url"] == f"{receiver.url}/status"
    assert entry["method"] == "POST"
    assert entry["params"]["CallStatus"] == ["completed"]
    assert entry["response_status"] == 204
    assert entry["signature"] == receiver.at("/status")[0].headers["X-Twilio-Signature"]


def test_reset_forgets_conferences_calls_and_journals(sandbox: Sandbox, client) -> None:
    client.conferences("forget-me").participants.create(from_=FROM, to="+15005550006")
    response = requests.post(f"{sandbox.url}/_sandbox/reset", timeout=5)
    assert response.status_code == 200
    assert client.conferences.list() == []
    assert client.calls.list() == []
    assert [r["path"] for r in sandbox.requests()] == [
        f"/2010-04-01/Accounts/{ACCOUNT_SID}/Conferences.json",
        f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json",
    ]


def test_health_answers_200(sandbox: Sandbox) -> None:
    response = requests.get(f"{sandbox.url}/_sandbox/health", timeout=5)
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_page_lists_live_conferences_and_refreshes_itself(sandbox: Sandbox, client) -> None:
    participant = client.conferences("Demo <Room>").participants.create(
        from_=FROM, to="+15005550006", label="caller one"
    )
    response = requests.get(f"{sandbox.url}/_sandbox/", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    html = response.text
    assert '<meta http-equiv="refresh"' in html
    assert "Demo &lt;Room&gt;" in html
    assert participant.call_sid in html and "caller one" in html
    assert '<html lang="en">' in html and "<script" not in html


def test_unknown_paths_answer_twilio_404(sandbox: Sandbox) -> None:
    response = requests.get(
        f"{sandbox.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Queues.json",
        auth=(ACCOUNT_SID, AUTH_TOKEN),
        timeout=5,
    )
    assert response.status_code == 404
    assert response.json()["code"] == 20404
