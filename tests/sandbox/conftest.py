"""Fixtures for the Twilio sandbox: a running sandbox, an SDK client, a callback receiver.

Nothing here needs the database. Every server binds port 0; every wait polls a deadline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from twilio_sandbox import Sandbox, SandboxAccount

ACCOUNT_SID = "AC" + "a" * 32
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
API_KEY_SID = "SK" + "b" * 32
API_KEY_SECRET = "api-key-secret"
OTHER_ACCOUNT_SID = "AC" + "c" * 32
OTHER_AUTH_TOKEN = "other-auth-token"
FROM = "+15017122661"
SPEED = 100.0


def wait_for(condition: Callable[[], Any], *, timeout: float = 10.0, interval: float = 0.01) -> Any:
    """Poll until `condition()` is truthy; fail with its last value at the deadline."""
    deadline = time.monotonic() + timeout
    value = condition()
    while not value:
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")
        time.sleep(interval)
        value = condition()
    return value


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
            lambda: (found := self.at(path)) and len(found) >= count and found, timeout=timeout
        )

    def events(self, path: str, name: str) -> list[str]:
        return [r.one(name) for r in self.at(path)]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            query = urlsplit(self.path).query
            params = parse_qs(body or query, keep_blank_values=True)
            receiver.record(
                Received(
                    method=self.command,
                    path=self.path,
                    url=f"{receiver.url}{self.path}",
                    headers={k: v for k, v in self.headers.items()},
                    params=params,
                    at=time.monotonic(),
                )
            )
            self.send_response(receiver.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = _record

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    recorder = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(recorder))
    server.daemon_threads = True
    recorder.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    yield recorder
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def make_sandbox(**options: Any) -> Sandbox:
    defaults: dict[str, Any] = {
        "accounts": [
            SandboxAccount(ACCOUNT_SID, AUTH_TOKEN, {API_KEY_SID: API_KEY_SECRET}),
            SandboxAccount(OTHER_ACCOUNT_SID, OTHER_AUTH_TOKEN),
        ],
        "speed": SPEED,
        "seed": 1,
    }
    return Sandbox(**{**defaults, **options})


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with make_sandbox() as box:
        yield box


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


@pytest.fixture
def client(sandbox: Sandbox) -> Client:
    return make_client(sandbox)
