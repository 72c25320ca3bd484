"""Recordings play through the app, with the account's credentials, for those allowed."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from conferences.accounts import roles, twilio_accounts
from conferences.audit.trail import AuditAction
from conferences.models import AuditEntry
from tests.history.helpers import make_dial
from tests.support.users import make_user

pytestmark = pytest.mark.django_db

RECORDING_SID = "RE5c0a7e3b9d2f41c8a6e4b1d7f3c90e28"
MP3 = b"ID3" + bytes(range(256)) * 40  # what the player gets, byte for byte


class TwilioMedia(BaseHTTPRequestHandler):
    """Twilio's recording media endpoint, as far as this app uses it."""

    seen: list[dict[str, str]]
    expected_auth: str

    def do_GET(self) -> None:
        self.seen.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
        if self.headers.get("Authorization") != self.expected_auth:
            self._json(401, b'{"code": 20003, "message": "Authenticate", "status": 401}')
            return
        if not self.path.endswith(f"/Recordings/{RECORDING_SID}.mp3"):
            self._json(404, b'{"code": 20404, "message": "not found", "status": 404}')
            return
        body, status = MP3, 200
        extra = {}
        asked = self.headers.get("Range", "")
        if asked.startswith("bytes="):
            first = int(asked.removeprefix("bytes=").split("-")[0] or 0)
            body, status = MP3[first:], 206
            extra["Content-Range"] = f"bytes {first}-{len(MP3) - 1}/{len(MP3)}"
        self.send_response(status)
        self.send_header("Content-Type", "audio/mpeg")
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def twilio_media(settings) -> Iterator[list[dict[str, str]]]:
    creds = twilio_accounts.credentials(twilio_accounts.default_account())
    token = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
    seen: list[dict[str, str]] = []
    handler = type("Handler", (TwilioMedia,), {"seen": seen, "expected_auth": f"Basic {token}"})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    settings.TWILIO_API_BASE_URL = f"http://127.0.0.1:{server.server_address[1]}"
    yield seen
    server.shutdown()
    server.server_close()


def recording_url(dial) -> str:
    return reverse("conferences:history-recording", args=[dial.pk])


def listens() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=AuditAction.LISTEN_RECORDING).order_by("pk"))


def test_a_supervisor_listens_through_the_app_and_the_listen_is_audited(
    client, supervisor, operator, twilio_media
):
    dial = make_dial(operator, recording_sid=RECORDING_SID, recording_duration_seconds=104)
    client.force_login(supervisor)
    response = client.get(recording_url(dial))
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "audio/mpeg"
    assert response["Accept-Ranges"] == "bytes"
    assert "no-store" in response["Cache-Control"]
    assert b"".join(response.streaming_content) == MP3  # the test client closes it after
    # Fetched from Twilio's media URL with the account's own credentials.
    creds = twilio_accounts.credentials(dial.account)
    assert twilio_media[0]["path"] == (
        f"/2010-04-01/Accounts/{creds.account_sid}/Recordings/{RECORDING_SID}.mp3"
    )
    [entry] = listens()
    assert (entry.actor, entry.dial, entry.outcome) == (supervisor, dial, "ok")
    assert entry.detail == {"recording_sid": RECORDING_SID}


def test_seeking_is_passed_on_as_a_byte_range_and_is_not_a_second_listen(
    client, supervisor, operator, twilio_media
):
    dial = make_dial(operator, recording_sid=RECORDING_SID)
    client.force_login(supervisor)
    b"".join(client.get(recording_url(dial), HTTP_RANGE="bytes=0-").streaming_content)
    response = client.get(recording_url(dial), HTTP_RANGE="bytes=1000-")
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 1000-{len(MP3) - 1}/{len(MP3)}"
    assert b"".join(response.streaming_content) == MP3[1000:]
    assert twilio_media[-1]["range"] == "bytes=1000-"
    assert len(listens()) == 1


def test_an_operator_may_listen_to_their_own_calls_only(client, operator, twilio_media):
    own = make_dial(operator, recording_sid=RECORDING_SID)
    others = make_dial(make_user("omar", roles.OPERATOR), recording_sid=RECORDING_SID)
    client.force_login(operator)
    assert client.get(recording_url(own)).status_code == 200
    assert client.get(recording_url(others)).status_code == 404
    assert [entry.dial for entry in listens()] == [own]


def test_a_user_without_the_permission_is_refused_and_twilio_is_never_asked(client, twilio_media):
    viewer = make_user("vic", None)
    viewer.user_permissions.add(Permission.objects.get(codename="view_own_calls"))
    dial = make_dial(viewer, recording_sid=RECORDING_SID)
    client.force_login(viewer)
    assert client.get(recording_url(dial)).status_code == 403
    assert twilio_media == []
    assert listens() == []
    # The call page says there is a recording, without a player.
    html = client.get(reverse("conferences:history-detail", args=[dial.pk])).content.decode()
    assert "<audio" not in html and "your role cannot listen" in html


def test_the_call_page_plays_the_recording_for_those_allowed(client, supervisor, operator):
    dial = make_dial(operator, recording_sid=RECORDING_SID)
    client.force_login(supervisor)
    html = client.get(reverse("conferences:history-detail", args=[dial.pk])).content.decode()
    assert f'<audio controls preload="none" src="{recording_url(dial)}">' in html


def test_a_recording_twilio_does_not_have_is_a_404_and_the_failed_listen_is_audited(
    client, supervisor, operator, twilio_media
):
    dial = make_dial(operator, recording_sid="RE" + "0" * 32)
    client.force_login(supervisor)
    assert client.get(recording_url(dial)).status_code == 404
    [entry] = listens()
    assert entry.outcome == "failed" and entry.detail["status"] == 404


def test_a_call_without_a_recording_has_nothing_to_play(client, supervisor, operator):
    dial = make_dial(operator)
    client.force_login(supervisor)
    assert client.get(recording_url(dial)).status_code == 404
    assert listens() == []
