"""The audio behind a sandbox recording: a short generated WAV, so the app's player plays
something. Twilio serves a recording at its RecordingUrl plus `.mp3` or `.wav`; the
sandbox answers both with the same WAV (and says so in Content-Type), made here from a
few lines of arithmetic instead of a file kept in the repository."""

from __future__ import annotations

import functools
import io
import math
import re
import struct
import wave

# /2010-04-01/Accounts/{AccountSid}/Recordings/{RecordingSid}.mp3 (or .wav)
RECORDING_MEDIA = re.compile(
    r"^/2010-04-01/Accounts/(?P<account>AC[0-9a-fA-F]{32})"
    r"/Recordings/(?P<recording>RE[0-9a-fA-F]{32})\.(?P<extension>mp3|wav)$"
)
CONTENT_TYPE = "audio/wav"
SAMPLE_RATE = 8000  # a phone line's rate
SECONDS = 2.0
TONES_HZ = (440.0, 660.0)  # two notes, one a second: clearly not silence


def account_of(path: str) -> str | None:
    """The AccountSid in a recording media path; None when the path is not one."""
    found = RECORDING_MEDIA.match(path)
    return found["account"] if found else None


@functools.cache
def recording_wav() -> bytes:
    """A 2-second, 8 kHz, 16-bit mono WAV: two soft notes, faded in and out."""
    frames = int(SAMPLE_RATE * SECONDS)
    per_tone = frames // len(TONES_HZ)
    samples = bytearray()
    for index in range(frames):
        tone = TONES_HZ[min(index // per_tone, len(TONES_HZ) - 1)]
        position = index % per_tone
        fade = min(1.0, position / 400, (per_tone - position) / 400)  # no clicks
        value = 0.3 * fade * math.sin(2 * math.pi * tone * index / SAMPLE_RATE)
        samples += struct.pack("<h", int(value * 32767))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(bytes(samples))
    return buffer.getvalue()
