"""HTTP plumbing: Basic auth, faults around each API request, inspection endpoints.

Real API paths live under /2010-04-01/; the sandbox's own endpoints under /_sandbox/.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
import uuid
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from twilio_sandbox import errors, page, recording_audio
from twilio_sandbox.api import Api, Route, route
from twilio_sandbox.errors import ApiError
from twilio_sandbox.faults import ConcurrencyGate, FaultDecider, Faults, RequestFaults
from twilio_sandbox.journal import Journal
from twilio_sandbox.state import SandboxAccount, Store

FormDict = dict[str, list[str]]


class ServedSandbox(Protocol):
    """What the HTTP front needs of the sandbox it serves (the Sandbox in service.py).

    Stated here so that the server does not import the service that starts it.
    """

    store: Store
    journal: Journal
    decider: FaultDecider
    gate: ConcurrencyGate
    api: Api
    stopping: threading.Event

    @property
    def url(self) -> str: ...

    def reset(self) -> None: ...

    def set_faults(self, faults: Faults) -> None: ...

    def subject_of(self, matched: Route) -> tuple[str | None, str | None, bool]: ...

    def log(self, line: str) -> None: ...


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # Hanging requests must not keep stop() waiting.
    block_on_close = False

    def __init__(self, address: tuple[str, int], sandbox: ServedSandbox) -> None:
        self.sandbox = sandbox
        super().__init__(address, SandboxRequestHandler)


class SandboxRequestHandler(BaseHTTPRequestHandler):
    # Buffer the answer and send it when the request is done: by then the request log holds
    # the entry, so a client that reads /_sandbox/requests right after its answer sees it.
    wbufsize = -1
    server: SandboxHTTPServer
    server_version = "TwilioSandbox/1.0"

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def log_message(self, format: str, *args: Any) -> None:
        # Replaced by one line per request in _log(); the default would duplicate it.
        return

    # ----------------------------------------------------------------- dispatch

    def _dispatch(self, method: str) -> None:
        started = time.monotonic()
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        form = self._read_form()
        status: int | None
        if parts.path == "/_sandbox" or parts.path.startswith("/_sandbox/"):
            status = self._inspection(method, parts.path, query)
        elif method == "GET" and recording_audio.account_of(parts.path) is not None:
            status = self._recording_media(parts.path)
        else:
            status = self._api(method, parts.path, query, form, started)
        self._log(method, parts.path, status, started)

    def _read_form(self) -> FormDict:
        length = int(self.headers.get("Content-Length") or 0)
        self._raw_body = self.rfile.read(length) if length > 0 else b""
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("application/x-www-form-urlencoded"):
            return parse_qs(self._raw_body.decode("utf-8", "replace"), keep_blank_values=True)
        return {}

    def _log(self, method: str, path: str, status: int | None, started: float) -> None:
        elapsed_ms = (time.monotonic() - started) * 1000
        shown = "-" if status is None else str(status)
        # Never the Authorization header, never the body (SipAuthPassword lives there).
        self.server.sandbox.log(
            f'{self.client_address[0]} "{method} {path}" {shown} {elapsed_ms:.0f}ms'
        )

    # ----------------------------------------------------------------- the Twilio API

    def _api(
        self, method: str, path: str, query: FormDict, form: FormDict, started: float
    ) -> int | None:
        sandbox = self.server.sandbox
        account: SandboxAccount | None = None
        status: int | None
        hang_seconds = 0.0
        error_code = None
        try:
            matched = route(path)
            if matched is None:
                raise errors.not_found(path)
            account = self._authenticate()
            if account is None or account.sid != matched.account_sid:
                raise errors.authentication_failed()
            status, hang_seconds = self._api_as(method, matched, account, query, form)
        except ApiError as error:
            status, error_code = error.status, error.code
            self._send_json(error.status, error.body())
        sandbox.journal.record_request(
            method=method,
            path=path,
            query=query,
            params=form,
            account_sid=account.sid if account else None,
            status=status,
            error_code=error_code,
            duration_ms=(time.monotonic() - started) * 1000,
        )
        if hang_seconds:
            # The participant exists and its call is under way; the answer never comes.
            sandbox.stopping.wait(hang_seconds)
            self.close_connection = True
        return status

    def _api_as(
        self,
        method: str,
        matched: Route,
        account: SandboxAccount,
        query: FormDict,
        form: FormDict,
    ) -> tuple[int | None, float]:
        """Answer the request; (None, seconds) means: hang that long, never answer."""
        sandbox = self.server.sandbox
        faults: Faults = sandbox.decider.faults
        if not sandbox.gate.enter(account.sid, faults.max_concurrent_requests):
            raise errors.too_many_requests()
        try:
            planned = self._request_faults(method, matched, form)
            if planned.delay_seconds:
                sandbox.stopping.wait(planned.delay_seconds)
            if planned.error_status == 429:
                raise errors.too_many_requests()
            if planned.error_status is not None:
                raise ApiError(
                    planned.error_status,
                    20000 + planned.error_status,
                    "Service Unavailable" if planned.error_status == 503 else "Internal Error",
                )
            answer = sandbox.api.handle(method, matched, query, form)
            if planned.wrong_answer:
                answer = sandbox.api.misanswer(answer, planned.wrong_answer, matched, method)
        finally:
            sandbox.gate.leave(account.sid)
        if answer.created_call_sid is not None and planned.hang_seconds:
            return None, planned.hang_seconds
        if answer.body is None:
            self._send_empty(answer.status)
        else:
            self._send_json(answer.status, answer.body)
        return answer.status, 0.0

    def _request_faults(self, method: str, matched: Route, form: FormDict) -> RequestFaults:
        sandbox = self.server.sandbox
        creates = matched.name == "participants" and method == "POST"
        to: str | None
        label: str | None
        if creates:
            to = next(iter(form.get("To", [])), None)
            label = next(iter(form.get("Label", [])), None)
            named = True
        else:
            to, label, named = sandbox.subject_of(matched)
        return sandbox.decider.for_request(to=to, label=label, named=named, creates=creates)

    def _authenticate(self) -> SandboxAccount | None:
        header = self.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            return None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        username, _, password = decoded.partition(":")
        return self.server.sandbox.store.authenticate(username, password)

    def _recording_media(self, path: str) -> int:
        """A recording's audio, to the account it belongs to (like Twilio, behind auth)."""
        account = self._authenticate()
        if account is None or account.sid != recording_audio.account_of(path):
            error = errors.authentication_failed()
            return self._send_json(error.status, error.body())
        payload = recording_audio.recording_wav()
        self.send_response(200)
        self.send_header("Content-Type", recording_audio.CONTENT_TYPE)
        self.send_header("Content-Length", str(len(payload)))
        self._common_headers(200)
        self.end_headers()
        self.wfile.write(payload)
        return 200

    # ----------------------------------------------------------------- /_sandbox/

    def _inspection(self, method: str, path: str, query: FormDict) -> int:
        sandbox = self.server.sandbox
        endpoint = path.removeprefix("/_sandbox").strip("/")
        filters = {name: values[0] for name, values in query.items() if values}
        if endpoint == "" and method == "GET":
            return self._send_html(200, page.render(sandbox.store, sandbox.url))
        if endpoint == "health" and method == "GET":
            return self._send_json(200, {"status": "ok"})
        if endpoint == "requests" and method == "GET":
            return self._send_json(200, {"requests": sandbox.journal.requests(filters)})
        if endpoint == "callbacks" and method == "GET":
            return self._send_json(200, {"callbacks": sandbox.journal.callbacks(filters)})
        if endpoint == "reset" and method == "POST":
            sandbox.reset()
            return self._send_json(200, {"reset": True})
        if endpoint == "faults":
            return self._faults(method)
        return self._send_json(404, {"error": f"no sandbox endpoint {method} {path}"})

    def _faults(self, method: str) -> int:
        sandbox = self.server.sandbox
        if method == "DELETE":
            sandbox.set_faults(Faults())
        elif method == "POST":
            try:
                data = json.loads(self._raw_body or b"{}")
                sandbox.set_faults(Faults.from_json(data))
            except (ValueError, TypeError) as exc:
                return self._send_json(400, {"error": str(exc)})
        elif method != "GET":
            return self._send_json(405, {"error": "use GET, POST or DELETE"})
        return self._send_json(200, sandbox.decider.faults.to_json())

    # ----------------------------------------------------------------- answers

    def _send_json(self, status: int, body: Mapping[str, Any]) -> int:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self._common_headers(status)
        self.end_headers()
        self.wfile.write(payload)
        return status

    def _send_html(self, status: int, html: str) -> int:
        payload = html.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        return status

    def _send_empty(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self._common_headers(status)
        self.end_headers()

    def _common_headers(self, status: int) -> None:
        self.send_header("Twilio-Request-Id", "RQ" + uuid.uuid4().hex)
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="Twilio API"')
