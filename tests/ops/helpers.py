"""Helpers for the operations tests: small real HTTP servers and readers, no mocks."""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.client import HTTPConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import requests

from tests.support.sandbox import sandbox_client
from twilio_sandbox import Sandbox


def sandbox_call_status(sandbox: Sandbox, call_sid: str) -> str:
    """The call's status as the sandbox's Calls API tells it."""
    return str(sandbox_client(sandbox).calls(call_sid).fetch().status)


def replay(entry: Mapping[str, Any]) -> int:
    """Deliver a callback the sandbox journaled (say, one it dropped) exactly as it would
    have: same URL, parameters and signature. Returns the HTTP status."""
    pairs = [(name, value) for name, values in entry["params"].items() for value in values]
    response = requests.request(
        entry["method"],
        entry["url"],
        data=pairs if entry["method"] == "POST" else None,
        params=pairs if entry["method"] == "GET" else None,
        headers={"X-Twilio-Signature": entry["signature"], "User-Agent": "TwilioProxy/1.1"},
        timeout=10,
    )
    return response.status_code


# --- Prometheus text ------------------------------------------------------------------

_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][\w:]*)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_prometheus(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Samples keyed by (name, labels); fails on a line that is not Prometheus text."""
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            assert line.startswith(("# HELP ", "# TYPE ")) or not line, line
            continue
        match = _SAMPLE.match(line)
        assert match, f"not a Prometheus sample: {line!r}"
        labels = frozenset(_LABEL.findall(match["labels"] or ""))
        samples[(match["name"], labels)] = float(match["value"])
    return samples


def sample(
    samples: Mapping[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples[(name, frozenset(labels.items()))]


# --- A stand-in for Twilio's Recordings API (the sandbox has none) ----------------------


@dataclass
class FakeRecordings:
    """Answers DELETE /2010-04-01/Accounts/{AC}/Recordings/{RE}.json like Twilio: 204, or
    404 for recordings already gone, or 500 for ones it cannot delete now."""

    account_sid: str
    auth_token: str
    gone: set[str] = field(default_factory=set)
    broken: set[str] = field(default_factory=set)
    deleted: list[str] = field(default_factory=list)
    unauthorized: int = 0
    url: str = ""

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if handler.headers.get("Authorization") != f"Basic {expected}":
            self.unauthorized += 1
            self._answer(handler, 401, b'{"code": 20003, "message": "Authenticate", "status": 401}')
            return
        match = re.fullmatch(
            rf"/2010-04-01/Accounts/{self.account_sid}/Recordings/(RE[0-9a-f]{{32}})\.json",
            handler.path,
        )
        if handler.command != "DELETE" or match is None:
            self._answer(handler, 404, b'{"code": 20404, "message": "Not found", "status": 404}')
            return
        sid = match[1]
        if sid in self.broken:
            self._answer(handler, 500, b'{"code": 20500, "message": "Internal", "status": 500}')
        elif sid in self.gone or sid in self.deleted:
            self._answer(handler, 404, b'{"code": 20404, "message": "Not found", "status": 404}')
        else:
            self.deleted.append(sid)
            self._answer(handler, 204, b"")

    @staticmethod
    def _answer(handler: BaseHTTPRequestHandler, status: int, body: bytes) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)


@contextmanager
def serving(handle: Any) -> Iterator[str]:
    """Serve every request with `handle(handler)` on a free port; yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            handle(self)

        do_GET = do_POST = do_DELETE = do_HEAD = _any

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# --- A reverse proxy, configured right or wrong ----------------------------------------


@dataclass
class ReverseProxy:
    """Forwards to `upstream` the way nginx would: strips `strip_prefix` from the path,
    adds `extra_headers` (say, X-Forwarded-Proto: https from a TLS terminator); or, with
    `redirect_to_https`, answers every request with a redirect to https."""

    upstream: str
    strip_prefix: str = ""
    extra_headers: dict[str, str] = field(default_factory=dict)
    redirect_to_https: bool = False

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        if self.redirect_to_https:
            host = handler.headers.get("Host", "")
            handler.send_response(301)
            handler.send_header("Location", f"https://{host}{handler.path}")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        path = handler.path
        if self.strip_prefix:
            if not path.startswith(self.strip_prefix + "/"):
                refusal = b"not routed by this proxy"
                handler.send_response(404)
                handler.send_header("Content-Length", str(len(refusal)))
                handler.end_headers()
                handler.wfile.write(refusal)
                return
            path = path.removeprefix(self.strip_prefix)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else None
        headers = {
            name: value
            for name, value in handler.headers.items()
            if name.lower() not in ("host", "connection", "content-length")
        }
        headers.update(self.extra_headers)
        upstream = urlsplit(self.upstream)
        connection = HTTPConnection(upstream.hostname or "", upstream.port or 80, timeout=10)
        try:
            connection.request(handler.command, path, body=body, headers=headers)
            answer = connection.getresponse()
            content = answer.read()
        finally:
            connection.close()
        handler.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(content)))
        handler.end_headers()
        handler.wfile.write(content)
