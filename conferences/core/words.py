"""Words shown for Twilio's codes and for durations: one table per kind of code."""

from __future__ import annotations

from datetime import timedelta

from conferences.core.dial_states import DialStatus

# --- Words for Twilio's codes -----------------------------------------------------------

# Twilio error codes this product meets (see /work/shared/TWILIO_NOTES.md); Twilio's own
# message, when it sent one, is shown instead.
TWILIO_ERROR_WORDS: dict[int, str] = {
    13224: "Dial: invalid phone number",
    13225: "Dial: forbidden phone number",
    13227: "Dial: no international permission for this number",
    16003: "The conference does not exist",
    16020: "The conference is full",
    16022: "The conference has already ended",
    16024: "Invalid participant label",
    16026: "The participant label is already in use",
    16028: "Coaching needs a connected call to coach",
    16030: "The participant could not be added",
    20003: "Twilio refused the account's credentials",
    20404: "Not found at Twilio",
    20429: "Too many requests to Twilio at once",
    21201: "No 'To' number",
    21205: "Invalid callback URL",
    21210: "The caller ID (From) is not verified",
    21211: "Invalid 'To' phone number",
    21212: "Invalid 'From' phone number",
    21213: "'From' phone number is required",
    21214: "The 'To' number cannot be reached",
    21215: "Calls to this country or region are not enabled (geo permissions)",
    21216: "The number is blocked",
    21217: "The phone number is not valid",
    21220: "The call was in a state that does not allow this",
    21234: "Invalid machine detection value",
    22005: "Twilio's call queue for the account is full",
}

SIP_RESPONSE_WORDS: dict[int, str] = {
    200: "OK",
    403: "Forbidden",
    404: "Number not found",
    408: "Request timeout",
    480: "Temporarily unavailable",
    484: "Address incomplete",
    486: "Busy here",
    487: "Request terminated (stopped ringing)",
    488: "Not acceptable here",
    500: "Server error",
    502: "Bad gateway",
    503: "Service unavailable",
    600: "Busy everywhere",
    603: "Declined",
}

LEAVE_REASON_WORDS: dict[str, str] = {
    "participant_hung_up": "the caller hung up",
    "conference_ended_via_api": "the conference was ended from the app or the API",
    "moderator_ended_conference": "a moderator left and the conference ended",
    "participant_updated_via_api": "the participant was removed from the app or the API",
    "participant_add_failed": "the call never connected, so the participant was never added",
    DialStatus.BUSY: "the line was busy",
    DialStatus.NO_ANSWER: "nobody answered",
    DialStatus.CANCELED: "the call was canceled before it was answered",
    DialStatus.FAILED: "the call failed",
}

CONFERENCE_END_WORDS: dict[str, str] = {
    "conference-ended-via-api": "ended from the app or the API",
    "last-participant-kicked": "the last participant was removed",
    "last-participant-left": "the last participant left",
    "participant-with-end-conference-on-exit-kicked": (
        "a participant who ends the conference on exit was removed"
    ),
    "participant-with-end-conference-on-exit-left": (
        "a participant who ends the conference on exit left"
    ),
}

ANSWERED_BY_WORDS: dict[str, str] = {
    "human": "a person",
    "machine_start": "an answering machine (detected at its greeting)",
    "machine_end_beep": "an answering machine (after its beep)",
    "machine_end_silence": "an answering machine (after silence)",
    "machine_end_other": "an answering machine",
    "fax": "a fax machine",
    "unknown": "someone machine detection could not identify",
}

# DialAttempt.decided_by and DialRequest.placed_by_check: which exactly-once check decided.
DECIDED_BY_WORDS: dict[str, str] = {
    "created": "Twilio created the participant (201)",
    "callback": "a callback for this dial had already arrived, so the call existed",
    "participant-label": "the conference already had a participant with this dial's label",
    "calls-list": "Twilio's Calls list had a call to this number since the first attempt",
    "checks-found-nothing": "all three checks found no call, so it was created (again)",
    "check-failed": "the checks could not reach Twilio; tried again later",
}


def twilio_error_words(code: int | None, message: str = "") -> str:
    """Twilio's words for an error: its own message, else what this product knows."""
    if message:
        return message
    if code is None:
        return ""
    return TWILIO_ERROR_WORDS.get(code, "see Twilio's error reference")


def sip_words(code: int | None) -> str:
    if code is None:
        return ""
    words = SIP_RESPONSE_WORDS.get(code)
    return f"SIP {code} {words}" if words else f"SIP {code}"


# Twilio's Timestamp has whole seconds, our request times have microseconds: an answer in
# the same second as the request can look up to a second early.
CLOCK_GRAIN = timedelta(seconds=1)


def without_clock_grain(value: timedelta | None) -> timedelta | None:
    """A duration with the sub-second skew of whole-second timestamps taken out (never < 0)."""
    if value is None or value <= -CLOCK_GRAIN:
        return None
    return max(value, timedelta(0))


def format_duration(value: timedelta | None) -> str:
    """`1h 02m 05s`, `2m 05s`, `4.2 s` (to answer, a fraction matters), `` for none."""
    value = without_clock_grain(value)
    if value is None:
        return ""
    seconds = value.total_seconds()
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs} s"
