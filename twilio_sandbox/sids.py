"""Twilio-shaped resource identifiers: two-letter prefix plus 32 hex digits."""

from __future__ import annotations

import re
import uuid

CALL_SID = re.compile(r"^CA[0-9a-fA-F]{32}$")
CONFERENCE_SID = re.compile(r"^CF[0-9a-fA-F]{32}$")
ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
API_KEY_SID = re.compile(r"^SK[0-9a-fA-F]{32}$")


def new_sid(prefix: str) -> str:
    # Random, not seeded: several sandboxes with the same seed may feed one database.
    return prefix + uuid.uuid4().hex
