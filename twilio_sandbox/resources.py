"""JSON bodies for conferences, participants and calls, field for field as API v2010."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Final

from twilio_sandbox.clock import rfc2822
from twilio_sandbox.state import Call, Conference, Participant

API_VERSION: Final = "2010-04-01"
NANP: Final = re.compile(r"^\+1(\d{3})(\d{3})(\d{4})$")


def _date(moment: datetime | None) -> str | None:
    return rfc2822(moment) if moment is not None else None


def account_prefix(account_sid: str) -> str:
    return f"/{API_VERSION}/Accounts/{account_sid}"


def conference_uri(conference: Conference) -> str:
    return f"{account_prefix(conference.account_sid)}/Conferences/{conference.sid}"


def participant_json(
    participant: Participant, *, queue_time_ms: int | None = None
) -> dict[str, Any]:
    prefix = account_prefix(participant.account_sid)
    return {
        "account_sid": participant.account_sid,
        "call_sid": participant.call_sid,
        "label": participant.label,
        "call_sid_to_coach": participant.call_sid_to_coach,
        "coaching": participant.coaching,
        "conference_sid": participant.conference_sid,
        "date_created": _date(participant.date_created),
        "date_updated": _date(participant.date_updated),
        "end_conference_on_exit": participant.end_conference_on_exit,
        "muted": participant.muted,
        "hold": participant.hold,
        "start_conference_on_enter": participant.start_conference_on_enter,
        "status": participant.status.value,
        # Twilio gives queue_time only in the answer to create, as a string of milliseconds.
        "queue_time": None if queue_time_ms is None else str(queue_time_ms),
        "uri": (
            f"{prefix}/Conferences/{participant.conference_sid}"
            f"/Participants/{participant.call_sid}.json"
        ),
    }


def conference_json(conference: Conference) -> dict[str, Any]:
    uri = conference_uri(conference)
    return {
        "account_sid": conference.account_sid,
        "api_version": API_VERSION,
        "date_created": _date(conference.date_created),
        "date_updated": _date(conference.date_updated),
        "friendly_name": conference.friendly_name,
        "region": conference.region,
        "sid": conference.sid,
        "status": conference.status.value,
        "subresource_uris": {
            "participants": f"{uri}/Participants.json",
            "recordings": f"{uri}/Recordings.json",
        },
        "uri": f"{uri}.json",
        "reason_conference_ended": conference.reason_ended,
        "call_sid_ending_conference": conference.call_sid_ending,
    }


def formatted_number(address: str) -> str:
    match = NANP.match(address)
    return f"({match[1]}) {match[2]}-{match[3]}" if match else address


def call_json(call: Call) -> dict[str, Any]:
    uri = f"{account_prefix(call.account_sid)}/Calls/{call.sid}"
    subresources = (
        "notifications",
        "recordings",
        "payments",
        "events",
        "siprec",
        "streams",
        "transcriptions",
        "user_defined_message_subscriptions",
        "user_defined_messages",
    )
    names = {
        "user_defined_message_subscriptions": "UserDefinedMessageSubscriptions",
        "user_defined_messages": "UserDefinedMessages",
    }
    return {
        "account_sid": call.account_sid,
        "answered_by": call.answered_by,
        "api_version": API_VERSION,
        "caller_name": None,
        "date_created": _date(call.date_created),
        "date_updated": _date(call.date_updated),
        "direction": "outbound-api",
        "duration": None if call.duration is None else str(call.duration),
        "end_time": _date(call.end_time),
        "forwarded_from": None,
        "from": call.from_,
        "from_formatted": formatted_number(call.from_),
        "group_sid": None,
        "parent_call_sid": None,
        "phone_number_sid": None,
        "price": None,
        "price_unit": "USD",
        "queue_time": str(call.queue_time_ms),
        "sid": call.sid,
        "start_time": _date(call.start_time),
        "status": call.status.value,
        "subresource_uris": {
            name: f"{uri}/{names.get(name, name.capitalize())}.json" for name in subresources
        },
        "to": call.to,
        "to_formatted": formatted_number(call.to),
        "trunk_sid": None,
        "uri": f"{uri}.json",
    }
