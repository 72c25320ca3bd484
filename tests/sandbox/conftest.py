"""Fixtures for the Twilio sandbox: a running sandbox, an SDK client, a callback receiver.

Nothing here needs the database. Every server binds port 0; every wait polls a deadline.
Helpers the tests import live in tests/sandbox/helpers.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from twilio.rest import Client

from tests.sandbox.helpers import Received, Receiver, make_client, sandbox_options
from tests.support.sandbox import running_sandbox
from twilio_sandbox import Sandbox


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


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox(**sandbox_options()) as box:
        yield box


@pytest.fixture
def client(sandbox: Sandbox) -> Client:
    return make_client(sandbox)
