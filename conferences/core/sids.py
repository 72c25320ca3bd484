"""Twilio SIDs: a two-letter prefix for the kind of resource and 32 hex digits.

The one place the shape is written; the receiver, the dial form, the live actions and
the recording proxy all check SIDs with these patterns (always with `fullmatch`).
"""

from __future__ import annotations

import re
from typing import Final

ACCOUNT_PREFIX: Final = "AC"
CALL_PREFIX: Final = "CA"
CONFERENCE_PREFIX: Final = "CF"
RECORDING_PREFIX: Final = "RE"


def sid_pattern(prefix: str) -> re.Pattern[str]:
    """The pattern of a SID with this prefix (use with `fullmatch`)."""
    return re.compile(rf"{prefix}[0-9a-fA-F]{{32}}")


ACCOUNT_SID: Final = sid_pattern(ACCOUNT_PREFIX)
CALL_SID: Final = sid_pattern(CALL_PREFIX)
CONFERENCE_SID: Final = sid_pattern(CONFERENCE_PREFIX)
RECORDING_SID: Final = sid_pattern(RECORDING_PREFIX)

# The SID-valued parameters Twilio's callbacks carry, by parameter name.
SID_PARAMETERS: Final[dict[str, re.Pattern[str]]] = {
    "AccountSid": ACCOUNT_SID,
    "CallSid": CALL_SID,
    "ConferenceSid": CONFERENCE_SID,
    "RecordingSid": RECORDING_SID,
}


def is_conference_sid(value: str) -> bool:
    return CONFERENCE_SID.fullmatch(value) is not None
