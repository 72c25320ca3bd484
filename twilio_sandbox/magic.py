"""Magic To numbers with a fixed fate, and seeded fates for every other address.

The numbers sit in the `+1 500 555` range Twilio uses for its own test credentials
(`+15005550006` is Twilio's "valid number" there too). docs/sandbox.md carries the table.

| To                | Fate                                                                  |
|-------------------|-----------------------------------------------------------------------|
| +15005550001      | create answers 400 / 21211 (invalid To)                               |
| +15005550002      | create answers 400 / 21214 (To cannot be reached)                     |
| +15005550003      | create answers 400 / 21215 (no geo permission)                        |
| +15005550004      | create answers 400 / 21216 (blocked number)                           |
| +15005550006      | a person answers and stays until removed or the conference ends       |
| +15005550010      | busy                                                                  |
| +15005550011      | never answers: no-answer after Timeout + 5 s                          |
| +15005550012      | fails (SIP 404)                                                       |
| +15005550020      | answered by a person (AnsweredBy human), stays                        |
| +15005550021..26  | machine_start, machine_end_beep, machine_end_silence,                 |
|                   | machine_end_other, fax, unknown; machines hang up after 30 s,         |
|                   | the fax after 10 s, unknown stays                                     |
| +15005551NNN      | a person answers and hangs up after NNN seconds                       |
| +15005552NNN      | rings NNN seconds, then a person answers and stays                    |
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final

from twilio_sandbox import errors
from twilio_sandbox.errors import ApiError

PREFIX: Final = "+1500555"
MACHINE_STAYS_SECONDS: Final = 30.0
FAX_STAYS_SECONDS: Final = 10.0
# Twilio adds a 5-second buffer to every ring timeout.
TIMEOUT_BUFFER_SECONDS: Final = 5.0

REJECTIONS: Final = {
    "+15005550001": (
        errors.INVALID_TO,
        "The 'To' number +15005550001 is not a valid phone number.",
    ),
    "+15005550002": (
        errors.TO_UNREACHABLE,
        "The 'To' phone number +15005550002 cannot be reached.",
    ),
    "+15005550003": (
        errors.GEO_PERMISSIONS,
        "Permission to call +15005550003 has not been enabled for the region.",
    ),
    "+15005550004": (errors.BLOCKED_NUMBER, "The 'To' number +15005550004 is blocked."),
}
ANSWERERS: Final = {
    "+15005550020": "human",
    "+15005550021": "machine_start",
    "+15005550022": "machine_end_beep",
    "+15005550023": "machine_end_silence",
    "+15005550024": "machine_end_other",
    "+15005550025": "fax",
    "+15005550026": "unknown",
}


@dataclass(frozen=True)
class CallPlan:
    """What the far end will do, in simulated seconds."""

    outcome: str  # "answer", "busy", "no-answer" or "failed"
    setup_seconds: float  # initiated -> ringing (or -> busy/failed)
    ring_seconds: float  # ringing -> answer
    answerer: str  # human, machine_*, fax or unknown
    talk_seconds: float | None  # None: stays until removed or the conference ends

    @property
    def sip_response_code(self) -> int:
        return {"answer": 200, "busy": 486, "no-answer": 487, "failed": 404}[self.outcome]


def rejection_for(to: str) -> ApiError | None:
    """Magic numbers Twilio would refuse before placing any call."""
    if to in REJECTIONS:
        code, message = REJECTIONS[to]
        return errors.bad_request(code, message)
    return None


def plan_call(to: str, rng: random.Random) -> CallPlan:
    setup = rng.uniform(0.5, 1.5)
    ring = rng.uniform(3.0, 8.0)
    fixed = _magic_plan(to, setup, ring)
    return fixed if fixed is not None else _random_plan(rng, setup, ring)


def _magic_plan(to: str, setup: float, ring: float) -> CallPlan | None:
    if not to.startswith(PREFIX) or len(to) != len(PREFIX) + 4:
        return None
    suffix = to[len(PREFIX) :]
    if to == "+15005550006":
        return CallPlan("answer", setup, ring, "human", None)
    if to == "+15005550010":
        return CallPlan("busy", setup, 0.0, "human", None)
    if to == "+15005550011":
        return CallPlan("no-answer", setup, float("inf"), "human", None)
    if to == "+15005550012":
        return CallPlan("failed", setup, 0.0, "human", None)
    if to in ANSWERERS:
        answerer = ANSWERERS[to]
        return CallPlan("answer", setup, ring, answerer, _stay_for(answerer))
    if suffix.startswith("1"):
        return CallPlan("answer", setup, ring, "human", float(suffix[1:]))
    if suffix.startswith("2"):
        return CallPlan("answer", setup, float(suffix[1:]), "human", None)
    return None


def _stay_for(answerer: str) -> float | None:
    if answerer.startswith("machine"):
        return MACHINE_STAYS_SECONDS
    if answerer == "fax":
        return FAX_STAYS_SECONDS
    return None


def _random_plan(rng: random.Random, setup: float, ring: float) -> CallPlan:
    draw = rng.random()
    if draw < 0.78:
        answerer = rng.choices(
            ("human", "machine_end_beep", "fax", "unknown"), weights=(88, 8, 1, 3)
        )[0]
        talk = _stay_for(answerer) or rng.uniform(30.0, 600.0)
        return CallPlan("answer", setup, ring, answerer, talk)
    if draw < 0.86:
        return CallPlan("busy", setup, 0.0, "human", None)
    if draw < 0.95:
        return CallPlan("no-answer", setup, float("inf"), "human", None)
    return CallPlan("failed", setup, 0.0, "human", None)


def reported_answered_by(answerer: str, mode: str) -> str:
    """What AMD reports: `Enable` stops at machine_start; DetectMessageEnd waits for the end."""
    if not answerer.startswith("machine"):
        return answerer
    if mode == "Enable":
        return "machine_start"
    return "machine_end_other" if answerer == "machine_start" else answerer


def detection_milliseconds(answerer: str, mode: str, rng: random.Random) -> int:
    if answerer == "human":
        return rng.randint(1800, 3500)
    if answerer == "fax":
        return rng.randint(1000, 3000)
    if answerer == "unknown":
        return 5000
    if mode == "Enable":
        return rng.randint(2500, 4500)
    return rng.randint(8000, 20000)
