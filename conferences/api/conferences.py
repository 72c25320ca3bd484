"""/api/v1/conferences: list, read (the roster), and live actions through the same
services as the live page: same permission checks, same audit entries."""

from __future__ import annotations

from typing import Literal

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from conferences.api.dial_body import CONFERENCE_RULE
from conferences.api.errors import ApiError, form_errors, not_found, with_errors
from conferences.api.guards import api_user, refused, require
from conferences.api.schemas import (
    ActionOut,
    ConferenceOut,
    ConferencePageOut,
    RosterOut,
    conference_out,
    roster_out,
)
from conferences.live import access as live_access
from conferences.live import actions as live_actions
from conferences.live import roster as live_roster
from conferences.live.forms import AnnounceForm, PlanConferenceForm
from conferences.models import Conference, User

router = Router(tags=["conferences"])

ParticipantAction = Literal[
    "mute", "unmute", "hold", "resume", "coach", "stop-coaching", "modify", "remove"
]


def conference_for(user: User, conference_id: int) -> Conference:
    """The conference if this user may see it; 404 otherwise (its existence is private)."""
    found = live_access.visible_conferences(user).filter(pk=conference_id).first()
    if found is None:
        raise not_found("conference")
    return found


def _answer(result: live_actions.ActionResult) -> ActionOut:
    """An accepted request Twilio did not carry out, in the error shape (the audit entry says
    so too): 409 when Twilio refused it as things stand there (the participant has left, the
    conference ended: asking again will not help); 502 when Twilio could not be reached or
    was busy, which a retry may get past."""
    if not result.ok and result.retryable:
        raise ApiError(502, "twilio_failed", result.message)
    if not result.ok:
        raise ApiError(409, "twilio_refused", result.message)
    return ActionOut(ok=True, message=result.message)


@router.get(
    "/conferences", response={200: ConferencePageOut, **with_errors()}, summary="List conferences"
)
def list_conferences(
    request: HttpRequest,
    page: int = Query(1, ge=1, le=100_000),
) -> ConferencePageOut:
    """Conferences the caller may see: every live one (on page 1), then ended ones, newest
    first, 25 a page."""
    user = api_user(request)
    require(user, "view_own_calls", "see conferences")
    listing = live_access.conference_list(user, page_number=page)
    # Paginator.get_page() answers the last page for any page beyond it: past the end, the
    # API answers an empty page instead, so a client's loop ends.
    ended = listing.ended if listing.ended.number == page else None
    return ConferencePageOut(
        live=[conference_out(c) for c in listing.live] if page == 1 else [],
        ended=[conference_out(c) for c in ended.object_list] if ended is not None else [],
        next_page=ended.next_page_number() if ended is not None and ended.has_next() else None,
    )


class PlanIn(Schema):
    name: str = Field(description="The conference's friendly name (no “/”).")


@router.post(
    "/conferences",
    response={201: ConferenceOut, **with_errors(409)},
    summary="Plan a conference (before anyone is dialed)",
)
def plan_conference(request: HttpRequest, body: PlanIn) -> Status[ConferenceOut]:
    """Open a conference by name, to give it an invite list: the open one of that name the
    caller may use, or a new one they run."""
    user = api_user(request)
    form = PlanConferenceForm({"friendly_name": body.name})
    if not form.is_valid():
        raise ApiError(
            422,
            "invalid",
            "The conference was not planned: fix the fields named.",
            fields=form_errors(
                form, name_for=lambda _field: "name", rule_for=lambda _name: CONFERENCE_RULE
            ),
        )
    try:
        conference = live_actions.open_conference(
            user=user, friendly_name=form.cleaned_data["friendly_name"]
        )
    except (live_actions.LiveActionRefused, PermissionDenied) as error:
        raise refused(error) from error
    return Status(201, conference_out(conference))


@router.get(
    "/conferences/{conference_id}",
    response={200: RosterOut, **with_errors()},
    summary="Read a conference and its roster",
)
def read_conference(request: HttpRequest, conference_id: int) -> RosterOut:
    """The conference and each participant's state (ringing, joined, muted, on hold, …)."""
    user = api_user(request)
    require(user, "view_own_calls", "see conferences")
    conference = conference_for(user, conference_id)
    return roster_out(live_roster.roster(user, conference))


class ParticipantActionIn(Schema):
    action: ParticipantAction
    call_sid_to_coach: str = Field("", max_length=34, description="For coach: whom to coach.")
    end_conference_on_exit: bool | None = Field(None, description="For modify.")
    beep_on_exit: bool | None = Field(None, description="For modify.")


@router.post(
    "/conferences/{conference_id}/participants/{call_sid}",
    response={200: ActionOut, **with_errors(409, 502)},
    summary="Mute, hold, coach or remove a participant",
)
def act_on_participant(
    request: HttpRequest, conference_id: int, call_sid: str, body: ParticipantActionIn
) -> ActionOut:
    """One participant action, exactly as the roster's buttons do it (and audited)."""
    user = api_user(request)
    require(user, "act_on_own_conference", "act on participants")
    conference = conference_for(user, conference_id)
    command = live_actions.ParticipantCommand(
        action=body.action,
        call_sid_to_coach=body.call_sid_to_coach,
        end_conference_on_exit=body.end_conference_on_exit,
        beep_on_exit=body.beep_on_exit,
    )
    try:
        result = live_actions.act_on_participant(
            user=user, conference=conference, call_sid=call_sid, command=command
        )
    except (live_actions.LiveActionRefused, PermissionDenied) as error:
        raise refused(error) from error
    return _answer(result)


class AnnounceIn(Schema):
    url: str = Field(description="An MP3/WAV file or TwiML Twilio fetches and plays to all.")
    method: Literal["GET", "POST"] = "GET"


@router.post(
    "/conferences/{conference_id}/announce",
    response={200: ActionOut, **with_errors(409, 502)},
    summary="Play an announcement to everyone",
)
def announce(request: HttpRequest, conference_id: int, body: AnnounceIn) -> ActionOut:
    """Play a recording or TwiML to everyone in the conference (the live page's form rules)."""
    user = api_user(request)
    require(user, "act_on_own_conference", "make announcements")
    conference = conference_for(user, conference_id)
    form = AnnounceForm({"url": body.url, "method": body.method})
    if not form.is_valid():
        raise ApiError(
            422,
            "invalid",
            "The announcement was not sent: fix the fields named.",
            fields=form_errors(form),
        )
    try:
        result = live_actions.announce(
            user=user,
            conference=conference,
            url=form.cleaned_data["url"],
            method=form.cleaned_data["method"],
        )
    except (live_actions.LiveActionRefused, PermissionDenied) as error:
        raise refused(error) from error
    return _answer(result)


@router.post(
    "/conferences/{conference_id}/end",
    response={200: ActionOut, **with_errors(409, 502)},
    summary="End a conference for everyone",
)
def end_conference(request: HttpRequest, conference_id: int) -> ActionOut:
    """End the conference: every call in it hangs up (supervisors)."""
    user = api_user(request)
    require(user, "end_conference", "end conferences")
    conference = conference_for(user, conference_id)
    try:
        result = live_actions.end_conference(user=user, conference=conference)
    except (live_actions.LiveActionRefused, PermissionDenied) as error:
        raise refused(error) from error
    return _answer(result)
