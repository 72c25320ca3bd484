"""Helpers for the sandbox's own tests: its accounts, a callback receiver, SDK clients.

Nothing here needs the database.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from tests.support.waiting import wait_for
from twilio_sandbox import Sandbox, SandboxAccount

ACCOUNT_SID = "AC" + "a" * 32
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
API_KEY_SID = "SK" + "b" * 32
API_KEY_SECRET = "api-key-secret"
OTHER_ACCOUNT_SID = "AC" + "c" * 32
OTHER_AUTH_TOKEN = "other-auth-token"
FROM = "+15017122661"
SPEED = 100.0


@dataclass
class Received:
    method: str
    path: str
    url: str
    headers: dict[str, str]
    params: dict[str, list[str]]
    at: float

    def one(self, name: str) -> str:
        (value,) = self.params[name]
        return value

    def flat(self) -> dict[str, str]:
        return {name: values[0] for name, values in self.params.items()}


@dataclass
class Receiver:
    """A webhook endpoint in the test process that records every request it gets."""

    url: str = ""
    status: int = 204
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, request: Received) -> None:
        with self.lock:
            self.requests.append(request)

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if urlsplit(r.path).path == path]

    def wait(self, path: str, count: int, *, timeout: float = 10.0) -> list[Received]:
        return wait_for(
            lambda: (found := self.at(path)) and len(found) >= count and found,
            timeout=timeout,
            interval=0.01,
        )

    def events(self, path: str, name: str) -> list[str]:
        return [r.one(name) for r in self.at(path)]


def sandbox_options(**overrides: Any) -> dict[str, Any]:
    """These tests' sandbox: two accounts (the first with an API key), fast calls, seed 1."""
    defaults: dict[str, Any] = {
        "accounts": [
            SandboxAccount(ACCOUNT_SID, AUTH_TOKEN, {API_KEY_SID: API_KEY_SECRET}),
            SandboxAccount(OTHER_ACCOUNT_SID, OTHER_AUTH_TOKEN),
        ],
        "speed": SPEED,
        "seed": 1,
    }
    return {**defaults, **overrides}


def make_sandbox(**options: Any) -> Sandbox:
    """An unstarted sandbox with these tests' options; use it as a context manager."""
    return Sandbox(**sandbox_options(**options))


def make_client(
    sandbox: Sandbox,
    username: str = ACCOUNT_SID,
    password: str = AUTH_TOKEN,
    *,
    account_sid: str | None = None,
    timeout: float | None = None,
) -> Client:
    client = Client(
        username,
        password,
        account_sid=account_sid,
        http_client=TwilioHttpClient(timeout=timeout),
    )
    client.api.base_url = sandbox.url
    return client
