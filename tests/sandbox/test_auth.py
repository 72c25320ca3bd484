"""HTTP Basic auth as Twilio does it: account SID + auth token, or API key + secret."""

from __future__ import annotations

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from tests.sandbox.helpers import (
    ACCOUNT_SID,
    API_KEY_SECRET,
    API_KEY_SID,
    AUTH_TOKEN,
    FROM,
    OTHER_ACCOUNT_SID,
    OTHER_AUTH_TOKEN,
    make_client,
)
from twilio_sandbox import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, Sandbox


def refused(client) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as caught:
        client.conferences("auth").participants.create(from_=FROM, to="+15005550006")
    return caught.value


def test_wrong_auth_token_is_401_20003(sandbox: Sandbox) -> None:
    error = refused(make_client(sandbox, ACCOUNT_SID, "wrong-token"))
    assert (error.status, error.code) == (401, 20003)
    assert sandbox.store.conferences == {}


def test_missing_credentials_are_401_with_a_basic_challenge(sandbox: Sandbox) -> None:
    response = requests.get(
        f"{sandbox.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json", timeout=5
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert response.json() == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }


def test_api_key_of_the_account_is_accepted(sandbox: Sandbox) -> None:
    client = make_client(sandbox, API_KEY_SID, API_KEY_SECRET, account_sid=ACCOUNT_SID)
    participant = client.conferences("api-key").participants.create(from_=FROM, to="+15005550006")
    assert participant.account_sid == ACCOUNT_SID


def test_api_key_with_a_wrong_secret_is_refused(sandbox: Sandbox) -> None:
    client = make_client(sandbox, API_KEY_SID, "not-the-secret", account_sid=ACCOUNT_SID)
    assert refused(client).code == 20003


def test_api_key_cannot_act_for_another_account(sandbox: Sandbox) -> None:
    client = make_client(sandbox, API_KEY_SID, API_KEY_SECRET, account_sid=OTHER_ACCOUNT_SID)
    error = refused(client)
    assert (error.status, error.code) == (401, 20003)


def test_account_in_the_path_must_be_the_authenticated_one(sandbox: Sandbox) -> None:
    client = make_client(sandbox, OTHER_ACCOUNT_SID, OTHER_AUTH_TOKEN, account_sid=ACCOUNT_SID)
    assert refused(client).status == 401
    own = make_client(sandbox, OTHER_ACCOUNT_SID, OTHER_AUTH_TOKEN)
    assert own.conferences("mine").participants.create(from_=FROM, to="+15005550006")


def test_default_account_comes_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "e" * 32)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "from-env")
    with Sandbox(speed=100.0) as box:
        assert list(box.store.accounts) == ["AC" + "e" * 32]
        client = make_client(box, "AC" + "e" * 32, "from-env")
        assert client.conferences("env").participants.create(from_=FROM, to="+15005550006")


def test_sandbox_defaults_without_environment(monkeypatch) -> None:
    monkeypatch.delenv("TWILIO_ACCOUNT_SID", raising=False)
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    with Sandbox(speed=100.0) as box:
        client = make_client(box, DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN)
        assert client.calls.list() == []
    assert AUTH_TOKEN != DEFAULT_AUTH_TOKEN
