"""/api/v1/events: scheduled conferences (issue 21) planned, read, edited and canceled
through the planning page's form and services, so the checks, refusals, permissions and
audit entries are the page's own."""

from __future__ import annotations

import contextlib
import dataclasses
import zoneinfo
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from ninja import Router, Status

from conferences.api.errors import ApiError, FieldError, form_errors, not_found, with_errors
from conferences.api.event_schemas import (
    RULES,
    EventChangeIn,
    EventIn,
    EventListOut,
    EventOut,
    InviteesByRoleIn,
    event_out,
)
from conferences.api.guards import api_user, refused, require
from conferences.api.invitees import invitees_csv
from conferences.events import planning, selectors
from conferences.events.forms import MAX_LEAD_MINUTES, EventForm
from conferences.events.planning import EventPlan, EventRefused
from conferences.models import (
    ROLE_ORDER,
    ScheduledConference,
    User,
    validate_time_zone,
)

router = Router(tags=["scheduled conferences"])

# The planning form's names for what the API calls otherwise.
FORM_NAMES = {"friendly_name": "name", NON_FIELD_ERRORS: ""}
# The first start whose dial-out time is still a date (the service subtracts the lead).
EARLIEST_START = datetime.min.replace(tzinfo=UTC) + timedelta(minutes=MAX_LEAD_MINUTES)


def api_name(form_field: str) -> str:
    """The API's name for a planning form field (role lists are `invitees.<role>`)."""
    if form_field in ROLE_ORDER:
        return f"invitees.{form_field}"
    return FORM_NAMES.get(form_field, form_field)


def _rule_for(caller_ids: list[str]) -> Callable[[str], str]:
    def rule(api_field: str) -> str:
        if api_field == "caller_id":
            return f"{RULES['caller_id']}: " + ", ".join(caller_ids)
        return RULES.get(api_field.split(".")[0], "")

    return rule


# --- From the body to the planning form ---------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TypedStart:
    """The start as the planning form reads it (a wall time in the zone), and the exact
    instant when the client named one (an offset, or the unchanged start of an edit)."""

    text: str
    instant: datetime | None = None


def _out_of_range() -> ApiError:
    return ApiError(
        422,
        "invalid",
        "The start is not a date the event can have: fix the fields named.",
        fields=[
            FieldError(
                field="starts_at",
                messages=["Enter a valid date/time: this one is out of range."],
                rule=RULES["starts_at"],
            )
        ],
    )


def _zone(name: str) -> zoneinfo.ZoneInfo | None:
    try:
        validate_time_zone(name)
    except ValidationError:
        return None  # the form names time_zone
    return zoneinfo.ZoneInfo(name)


def start_at(instant: datetime, zone_name: str) -> TypedStart:
    """An exact instant, typed as its wall time in the zone (so the form checks it the way
    it checks the page's), kept exact for the plan (a wall time alone is ambiguous when
    clocks go back)."""
    zone = _zone(zone_name) or UTC
    try:
        wall = instant.astimezone(zone).replace(tzinfo=None)
    except OverflowError:
        raise _out_of_range() from None
    return TypedStart(text=wall.isoformat(timespec="seconds"), instant=instant)


def read_start(text: str, zone_name: str) -> TypedStart:
    """ISO 8601 with an offset is that instant; without one, the form reads it in the zone
    (and says what is wrong with anything else, as on the page)."""
    try:
        parsed = parse_datetime(text.strip())
    except ValueError:
        parsed = None
    if parsed is None or timezone.is_naive(parsed):
        return TypedStart(text=text)
    return start_at(parsed, zone_name)


def _lists(invitees: InviteesByRoleIn) -> dict[str, str]:
    return {
        role: invitees_csv(rows, header=False) if (rows := getattr(invitees, role)) else ""
        for role in ROLE_ORDER
    }


def valid_plan(form: EventForm, start: TypedStart, *, what: str) -> EventPlan:
    """The form's plan, or ApiError 422 naming each field as the API names it."""
    if not form.is_valid():
        raise ApiError(
            422,
            "invalid",
            f"The event was not {what}: fix the fields named.",
            fields=form_errors(form, name_for=api_name, rule_for=_rule_for(planning.caller_ids())),
        )
    try:
        plan = form.plan()
        if start.instant is not None:
            plan = dataclasses.replace(plan, starts_at=start.instant.astimezone(UTC))
    except OverflowError:  # a wall time near year 1 or 9999 that UTC cannot hold
        raise _out_of_range() from None
    if plan.starts_at < EARLIEST_START:  # the service subtracts the lead: no date before
        raise _out_of_range()
    return plan


def _refusal(error: EventRefused, *, what: str) -> ApiError:
    """The service's refusal: 409 when the event can no longer change, else 422 by field."""
    if NON_FIELD_ERRORS in error.problems:
        return ApiError(409, "not_changeable", " ".join(error.problems[NON_FIELD_ERRORS]))
    rule = _rule_for(planning.caller_ids())
    return ApiError(
        422,
        "invalid",
        f"The event was not {what}: fix the fields named.",
        fields=[
            FieldError(field=api_name(name), messages=problems, rule=rule(api_name(name)))
            for name, problems in error.problems.items()
        ],
    )


@contextlib.contextmanager
def refusals_answered(*, what: str) -> Iterator[None]:
    """The planning service's refusals in the API's error shape (403, 409, 422)."""
    try:
        yield
    except EventRefused as error:
        raise _refusal(error, what=what) from error
    except PermissionDenied as error:
        raise refused(error) from error


def _changeable_event(user: User, event_id: int) -> ScheduledConference:
    require(user, "plan_events", "change scheduled conferences")
    event = event_for(user, event_id)
    if not event.changeable:
        raise ApiError(
            409,
            "not_changeable",
            f"This event is {event.get_status_display().lower()}: it can no longer change.",
        )
    return event


def event_for(user: User, event_id: int) -> ScheduledConference:
    """The event if this user may see its conference; 404 otherwise (operators never learn
    of another operator's events)."""
    found = selectors.visible_events(user).filter(pk=event_id).first()
    if found is None:
        raise not_found("event")
    return found


def _answer(user: User, event: ScheduledConference) -> EventOut:
    return event_out(selectors.event_row(user, event, timezone.now()))


# --- Operations ---------------------------------------------------------------------------


@router.get(
    "/events", response={200: EventListOut, **with_errors()}, summary="List scheduled conferences"
)
def list_events(request: HttpRequest) -> EventListOut:
    """The events the caller may see, as the events page lists them, with their countdowns
    and who the upcoming ones will dial."""
    user = api_user(request)
    require(user, "view_own_calls", "see scheduled conferences")
    listing = selectors.event_listing(user, timezone.now())
    return EventListOut(
        upcoming=[event_out(row) for row in listing.upcoming],
        live=[event_out(row) for row in listing.live],
        ended=[event_out(row) for row in listing.ended],
    )


@router.post(
    "/events",
    response={201: EventOut, **with_errors()},
    summary="Plan a scheduled conference",
)
def plan_event(request: HttpRequest, body: EventIn) -> Status[EventOut]:
    """Plan a conference for later with its invite list by role, checked by the planning
    form; nobody is dialed until the dial-out time (audited as on the page)."""
    user = api_user(request)
    require(user, "plan_events", "plan scheduled conferences")
    zone = body.time_zone if body.time_zone is not None else user.time_zone
    start = read_start(body.starts_at, zone)
    form = EventForm(
        {
            "friendly_name": body.name,
            "starts_at": start.text,
            "time_zone": zone,
            "dial_lead_minutes": body.dial_lead_minutes,
            "caller_id": body.caller_id,
            **_lists(body.invitees),
        },
        caller_ids=planning.caller_ids(),
    )
    plan = valid_plan(form, start, what="planned")
    with refusals_answered(what="planned"):
        event = planning.plan_event(user=user, plan=plan)
    return Status(201, _answer(user, event))


@router.get(
    "/events/{event_id}",
    response={200: EventOut, **with_errors()},
    summary="Read a scheduled conference",
)
def read_event(request: HttpRequest, event_id: int) -> EventOut:
    """One event: its status, countdown and who its dial-out calls, by role and in order."""
    user = api_user(request)
    require(user, "view_own_calls", "see scheduled conferences")
    return _answer(user, event_for(user, event_id))


@router.patch(
    "/events/{event_id}",
    response={200: EventOut, **with_errors(409)},
    summary="Change a scheduled conference before its dial-out",
)
def edit_event(request: HttpRequest, event_id: int, body: EventChangeIn) -> EventOut:
    """Move the start, lead time or caller ID, or add invitees, while it is scheduled; 409
    once its dial-out has begun (or it was canceled)."""
    user = api_user(request)
    event = _changeable_event(user, event_id)
    zone = body.time_zone if body.time_zone is not None else event.time_zone
    if body.starts_at is not None:
        start = read_start(body.starts_at, zone)
    else:
        start = start_at(event.starts_at, zone)  # the same instant, whatever the zone
    lead_minutes = (
        body.dial_lead_minutes
        if body.dial_lead_minutes is not None
        else event.dial_lead_seconds // 60
    )
    form = EventForm(
        {
            "starts_at": start.text,
            "time_zone": zone,
            "dial_lead_minutes": lead_minutes,
            "caller_id": body.caller_id if body.caller_id is not None else event.caller_id,
            **_lists(body.invitees),
        },
        caller_ids=planning.caller_ids(),
        editing=True,
        initial={"friendly_name": event.conference.friendly_name},
    )
    plan = valid_plan(form, start, what="changed")
    with refusals_answered(what="changed"):
        changed = planning.edit_event(user=user, event=event, plan=plan)
    return _answer(user, changed)


@router.post(
    "/events/{event_id}/cancel",
    response={200: EventOut, **with_errors(409)},
    summary="Cancel a scheduled conference before its dial-out",
)
def cancel_event(request: HttpRequest, event_id: int) -> EventOut:
    """Cancel it: nobody on its list will be dialed (audited); 409 once its dial-out has
    begun."""
    user = api_user(request)
    event = _changeable_event(user, event_id)
    with refusals_answered(what="canceled"):
        canceled = planning.cancel_event(user=user, event=event)
    return _answer(user, canceled)
