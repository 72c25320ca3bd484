"""What /api/v1/events reads and answers: the bodies and answers of scheduled conferences,
with each value's rule in words (the document's descriptions and the errors' `rule`)."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta
from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict

from conferences.api.schemas import ConferenceRef, InviteeIn
from conferences.events import selectors
from conferences.events.forms import MAX_LEAD_MINUTES
from conferences.live.invite_import import MAX_INVITE_ROWS
from conferences.models import Conference, EventStatus

NAME_MAX_LENGTH = Conference._meta.get_field("friendly_name").max_length
# What each field must be, in words: the document's descriptions and the errors' `rule`.
RULES: dict[str, str] = {
    "name": f"a conference name of up to {NAME_MAX_LENGTH} characters without “/”, not "
    "already open",
    "starts_at": "ISO 8601: with an offset (2999-01-15T09:30:00-05:00) that instant, without "
    "one (2999-01-15T09:30) a time in `time_zone`; at least the lead time ahead",
    "time_zone": "an IANA time zone name (Europe/Berlin); by default your profile's zone",
    "dial_lead_minutes": f"a whole number of minutes from 0 to {MAX_LEAD_MINUTES}",
    "caller_id": "one of the account's caller IDs",
    "invitees": f"up to {MAX_INVITE_ROWS} rows a role, each a number (E.164), a name and "
    "optionally a label and a preset; “Line n” is the n-th row of that role",
}
EXAMPLE_CALLER_ID = "+15005550006"


# --- What the API reads -------------------------------------------------------------------


def _role_list() -> Any:
    return Field(
        default_factory=list,
        description=RULES["invitees"],
        json_schema_extra={"maxItems": MAX_INVITE_ROWS},
    )


class InviteesByRoleIn(Schema):
    """Invitees by role; the dial-out calls hosts, then speakers, then listeners."""

    model_config = ConfigDict(extra="forbid")

    host: list[InviteeIn] = _role_list()
    speaker: list[InviteeIn] = _role_list()
    listener: list[InviteeIn] = _role_list()


class EventIn(Schema):
    """A conference planned for later. Every value rule is the planning form's."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description=RULES["name"], examples=["quarterly review"])
    starts_at: str = Field(description=RULES["starts_at"], examples=["2999-01-15T09:30:00-05:00"])
    time_zone: str | None = Field(None, description=RULES["time_zone"], examples=["Europe/Berlin"])
    dial_lead_minutes: int = Field(
        2,
        description=f"Dial out this long before the start: {RULES['dial_lead_minutes']}.",
        json_schema_extra={"minimum": 0, "maximum": MAX_LEAD_MINUTES},
    )
    caller_id: str = Field(description=RULES["caller_id"], examples=[EXAMPLE_CALLER_ID])
    invitees: InviteesByRoleIn = Field(default_factory=InviteesByRoleIn)


class EventChangeIn(Schema):
    """What to change while the event is scheduled; what is left out stays. Invitees sent
    are added to the list. The conference keeps its name."""

    model_config = ConfigDict(extra="forbid")

    starts_at: str | None = Field(None, description=RULES["starts_at"])
    time_zone: str | None = Field(
        None, description="An IANA time zone name; by default the event's own zone."
    )
    dial_lead_minutes: int | None = Field(
        None,
        description=RULES["dial_lead_minutes"],
        json_schema_extra={"minimum": 0, "maximum": MAX_LEAD_MINUTES},
    )
    caller_id: str | None = Field(None, description=RULES["caller_id"])
    invitees: InviteesByRoleIn = Field(
        default_factory=InviteesByRoleIn, description="Added to the invite list."
    )


# --- What the API answers -----------------------------------------------------------------


class WillDialOut(Schema):
    name: str
    number: str  # masked unless the caller's role may see full numbers


class RoleGroupOut(Schema):
    role: str
    people: list[WillDialOut]


class EventOut(Schema):
    """A scheduled conference: when, its state, and who its dial-out calls, in order."""

    id: int
    conference: ConferenceRef
    status: str = Field(description="scheduled, dialing, dialed, canceled or missed")
    changeable: bool = Field(description="Whether it may still be edited or canceled.")
    starts_at: datetime = Field(description="In UTC.")
    starts_at_local: datetime = Field(description="The same instant in `time_zone`.")
    time_zone: str
    dial_lead_minutes: int
    dial_at: datetime = Field(description="When the dial-out begins (UTC).")
    countdown_seconds: int | None = Field(
        description="Seconds until the start (0 once it has come); null if canceled or missed."
    )
    dial_out_in_seconds: int | None = Field(
        description="Seconds until the dial-out begins; null once it is no longer scheduled."
    )
    caller_id: str
    planned_by: str
    planned_at: datetime
    canceled_by: str | None
    canceled_at: datetime | None
    will_dial: list[RoleGroupOut] = Field(
        description="The invite list in dial order, by role (empty for ended events in lists)."
    )
    will_dial_total: int


class EventListOut(Schema):
    """As the events page shows them: upcoming soonest first, live, then the last 50 ended
    or canceled, latest first."""

    upcoming: list[EventOut]
    live: list[EventOut]
    ended: list[EventOut]


def _seconds(left: timedelta) -> int:
    return max(0, int(left.total_seconds()))


def event_out(row: selectors.EventRow) -> EventOut:
    event = row.event
    stopped = event.status in (EventStatus.CANCELED, EventStatus.MISSED)
    return EventOut(
        id=event.pk,
        conference=ConferenceRef(
            id=event.conference.pk,
            name=event.conference.friendly_name,
            sid=event.conference.sid or None,
        ),
        status=event.status,
        changeable=event.changeable,
        starts_at=event.starts_at,
        starts_at_local=event.starts_at.astimezone(zoneinfo.ZoneInfo(event.time_zone)),
        time_zone=event.time_zone,
        dial_lead_minutes=event.dial_lead_seconds // 60,
        dial_at=event.dial_at,
        countdown_seconds=None if stopped else _seconds(row.until_start),
        dial_out_in_seconds=_seconds(event.dial_at - row.now) if event.changeable else None,
        caller_id=event.caller_id,
        planned_by=event.planned_by.get_username(),
        planned_at=event.planned_at,
        canceled_by=event.canceled_by.get_username() if event.canceled_by else None,
        canceled_at=event.canceled_at,
        will_dial=[
            RoleGroupOut(
                role=group.role,
                people=[WillDialOut(name=p.name, number=p.number) for p in group.people],
            )
            for group in row.groups
        ],
        will_dial_total=row.total,
    )
