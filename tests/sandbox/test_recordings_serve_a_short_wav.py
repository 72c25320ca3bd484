"""A sandbox recording plays something: its media URL answers a short generated WAV, to
its own account only (issue 20, first run: the player played nothing)."""

from __future__ import annotations

import io
import wave

import requests

from tests.sandbox.helpers import ACCOUNT_SID, AUTH_TOKEN, OTHER_ACCOUNT_SID, OTHER_AUTH_TOKEN
from twilio_sandbox import Sandbox

RECORDING_SID = "RE" + "1" * 32


def media_url(sandbox: Sandbox, account_sid: str, extension: str) -> str:
    return f"{sandbox.url}/2010-04-01/Accounts/{account_sid}/Recordings/{RECORDING_SID}.{extension}"


def test_a_recordings_mp3_url_answers_a_playable_wav_of_about_two_seconds(sandbox: Sandbox):
    for extension in ("mp3", "wav"):
        answer = requests.get(
            media_url(sandbox, ACCOUNT_SID, extension),
            auth=(ACCOUNT_SID, AUTH_TOKEN),
            timeout=5,
        )
        assert answer.status_code == 200
        assert answer.headers["Content-Type"] == "audio/wav"
        with wave.open(io.BytesIO(answer.content)) as audio:
            seconds = audio.getnframes() / audio.getframerate()
            loudest = max(audio.readframes(audio.getnframes()))
        assert 1.0 <= seconds <= 5.0
        assert loudest > 0  # not silence


def test_recording_media_needs_the_accounts_credentials(sandbox: Sandbox):
    url = media_url(sandbox, ACCOUNT_SID, "mp3")
    assert requests.get(url, timeout=5).status_code == 401
    assert requests.get(url, auth=(ACCOUNT_SID, "wrong"), timeout=5).status_code == 401
    other = (OTHER_ACCOUNT_SID, OTHER_AUTH_TOKEN)  # a real account, but not this one's
    assert requests.get(url, auth=other, timeout=5).status_code == 401
