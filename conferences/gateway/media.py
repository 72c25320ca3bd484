"""Recordings' media, streamed from Twilio in chunks with the account's credentials."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import requests

from conferences.core import inputs
from conferences.core.sids import RECORDING_SID
from conferences.gateway.errors import GatewayError, _translate
from conferences.gateway.types import AccountCredentials

# --- End of operations ------------------------------------------------------------------


# --- Recording media (issue 9: used by conferences/recordings.py) -----------------------

TWILIO_API_BASE_URL = "https://api.twilio.com"
MEDIA_CHUNK_BYTES = 64 * 1024


class MediaStream:
    """The bytes of an open download; iterate once, and close it (Django's streaming
    responses call close() when done, even when the client went away)."""

    def __init__(self, response: requests.Response) -> None:
        self._response = response

    def __iter__(self) -> Iterator[bytes]:
        yield from self._response.iter_content(chunk_size=MEDIA_CHUNK_BYTES)

    def close(self) -> None:
        self._response.close()


@dataclass(frozen=True)
class RecordingMedia:
    status: int  # 200, or 206 for a byte range
    content_type: str
    content_length: int | None
    content_range: str
    stream: MediaStream


def recording_media_url(creds: AccountCredentials, recording_sid: str) -> str:
    """Where Twilio serves a recording's MP3: its RecordingUrl plus `.mp3`."""
    if not RECORDING_SID.fullmatch(recording_sid):
        raise GatewayError(f"not a recording SID: {recording_sid[:40]!r}", retryable=False)
    base = (creds.api_base_url or TWILIO_API_BASE_URL).rstrip("/")
    return f"{base}/2010-04-01/Accounts/{creds.account_sid}/Recordings/{recording_sid}.mp3"


def open_recording_media(
    creds: AccountCredentials, recording_sid: str, *, byte_range: str = "", timeout: float
) -> RecordingMedia:
    """GET a recording's MP3 with the account's credentials, streamed (never read whole).

    `byte_range` is a validated `bytes=…` header value, passed on so players can seek.
    Twilio may redirect to its media host; requests drops the credentials when it does.
    """
    headers = {"Accept": "audio/mpeg"}
    if byte_range:
        headers["Range"] = byte_range
    try:
        response = requests.get(
            recording_media_url(creds, recording_sid),
            auth=(creds.username, creds.password),
            headers=headers,
            stream=True,
            timeout=timeout,
        )
    except requests.RequestException as error:
        raise _translate(error) from error
    if response.status_code not in (200, 206):
        raise _media_error(response)
    length = response.headers.get("Content-Length", "")
    return RecordingMedia(
        status=response.status_code,
        content_type=response.headers.get("Content-Type", "audio/mpeg"),
        content_length=inputs.whole_number(length),
        content_range=response.headers.get("Content-Range", ""),
        stream=MediaStream(response),
    )


def _media_error(response: requests.Response) -> GatewayError:
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    finally:
        response.close()
    body = body if isinstance(body, dict) else {}
    code = body.get("code")
    return GatewayError(
        str(body.get("message") or f"Twilio answered {status} for the recording"),
        code=code if isinstance(code, int) else None,
        status=status,
        more_info=str(body.get("more_info") or ""),
        retryable=status == 429 or status >= 500,
    )
