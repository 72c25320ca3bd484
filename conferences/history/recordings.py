"""Recordings play through the app: it fetches the MP3 from Twilio with the dial's account
credentials and streams the bytes, so browsers never hold Twilio credentials and every
listen lands in the audit trail."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import PermissionDenied

from conferences.accounts import roles, twilio_accounts
from conferences.audit import trail as audit
from conferences.audit.trail import AuditAction
from conferences.gateway import errors
from conferences.gateway import media as gateway_media
from conferences.models import DialRequest, User

# One simple range (what audio elements send); anything else is fetched whole.
_BYTE_RANGE = re.compile(r"bytes=(\d{0,15})-(\d{0,15})")


class NoRecording(Exception):
    """The dial has no recording to play."""


def usable_byte_range(header: str) -> str:
    """The Range header if it is one plain byte range, else "" (the whole file)."""
    header = header.strip()
    match = _BYTE_RANGE.fullmatch(header)
    if match is None or not (match.group(1) or match.group(2)):
        return ""
    return header


def starts_a_listen(byte_range: str) -> bool:
    """Whether a request starts playing (rather than seeking within a playback): only
    these are audited, so one listen is one entry however often the player seeks."""
    return not byte_range or byte_range.startswith("bytes=0-")


def open_recording(
    *, user: User, dial: DialRequest, byte_range: str = ""
) -> gateway_media.RecordingMedia:
    """Open the dial's recording at Twilio for this listener, and audit the listen.

    `dial` must come from a selector scoped to the user (the history's visibility rule);
    this adds the listen permission. GatewayError when Twilio cannot serve it.
    """
    if not roles.user_can(user, "listen_recordings"):
        raise PermissionDenied("listen_recordings")
    if not dial.recording_sid:
        raise NoRecording(dial.pk)
    detail = {"recording_sid": dial.recording_sid}
    try:
        media = gateway_media.open_recording_media(
            twilio_accounts.credentials(dial.account),
            dial.recording_sid,
            byte_range=byte_range,
            timeout=settings.TWILIO_HTTP_TIMEOUT_SECONDS,
        )
    except errors.GatewayError as error:
        if starts_a_listen(byte_range):
            audit.record(
                AuditAction.LISTEN_RECORDING,
                actor=user,
                dial=dial,
                outcome="failed",
                detail={**detail, "error": error.message, "status": error.status},
            )
        raise
    if starts_a_listen(byte_range):
        audit.record(AuditAction.LISTEN_RECORDING, actor=user, dial=dial, detail=detail)
    return media
