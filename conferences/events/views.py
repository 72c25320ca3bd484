"""Scheduled conferences: the events list (upcoming with countdowns, live, ended), planning,
one event's page with its edit form, and cancelling. Forms work without JavaScript; htmx
only refreshes the countdowns."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh

from conferences.audit import trail as audit
from conferences.audit.trail import AuditAction
from conferences.core.htmx import render_page, wants_fragment
from conferences.events import lecture, monitoring, planning, selectors
from conferences.events import summary as event_summary
from conferences.events.forms import (
    EventForm,
    MonitorForm,
    OwnPhoneForm,
    RoleSettingsForm,
    SwitchForm,
)
from conferences.live import access as live_access
from conferences.live.actions import LiveActionRefused
from conferences.models import (
    ROLE_DEFAULTS,
    Conference,
    EventStatus,
    OperatorPhone,
    ScheduledConference,
    User,
)

LIST_PAGE = "conferences/events/list.html"
EVENT_PAGE = "conferences/events/detail.html"
SUMMARY_PAGE = "conferences/events/summary.html"
PHONE_PAGE = "conferences/events/own_phone.html"


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # noqa: S101 -- LoginRequiredMiddleware guards every view
    return user


def _event(request: HttpRequest, pk: int) -> ScheduledConference:
    """The event, if this user may see its conference (404 otherwise)."""
    return get_object_or_404(selectors.visible_events(request.user), pk=pk)


def _new_form(request: HttpRequest) -> EventForm:
    return EventForm(
        caller_ids=planning.caller_ids(),
        initial={"time_zone": _user(request).time_zone, "dial_lead_minutes": 2},
    )


def _edit_form(event: ScheduledConference, data: Any = None) -> EventForm:
    zone = event.time_zone
    local = timezone.localtime(event.starts_at, timezone=zoneinfo.ZoneInfo(zone))
    initial = {
        "friendly_name": event.conference.friendly_name,
        "starts_at": local.replace(tzinfo=None),
        "time_zone": zone,
        "dial_lead_minutes": event.dial_lead_seconds // 60,
        "caller_id": event.caller_id,
    }
    return EventForm(data, caller_ids=planning.caller_ids(), editing=True, initial=initial)


def _refused_into(form: EventForm, refused: planning.EventRefused) -> None:
    for name, problems in refused.problems.items():
        for problem in problems:
            form.add_error(None if name not in form.fields else name, problem)


def _role_forms(event: ScheduledConference) -> list[tuple[str, RoleSettingsForm]]:
    return [
        (row.role, RoleSettingsForm(instance=row, prefix=row.role))
        for row in selectors.console_settings(event)
    ]


@require_GET
@permission_required("conferences.view_own_calls", raise_exception=True)
def event_list(request: HttpRequest) -> HttpResponse:
    """Upcoming events with their countdown and who they will dial, then live and ended."""
    listing = selectors.event_listing(request.user, timezone.now())
    context = {"listing": listing, "form": _new_form(request)}
    return render_page(request, LIST_PAGE, context, fragment="upcoming")


@require_POST
@permission_required("conferences.plan_events", raise_exception=True)
def event_plan(request: HttpRequest) -> HttpResponse:
    """Plan a conference for later; its invite list is dialed at the start."""
    form = EventForm(request.POST, caller_ids=planning.caller_ids())
    if form.is_valid():
        try:
            event = planning.plan_event(user=_user(request), plan=form.plan())
        except planning.EventRefused as refused:
            _refused_into(form, refused)
        else:
            messages.success(request, f"{event.conference.friendly_name} is planned.")
            return redirect("conferences:event-detail", event.pk)
    listing = selectors.event_listing(request.user, timezone.now())
    return render_page(request, LIST_PAGE, {"listing": listing, "form": form}, status=422)


@require_http_methods(["GET", "POST"])
@permission_required("conferences.view_own_calls", raise_exception=True)
def event_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One event: when, who will be dialed in which order, and (until it starts) its edit form."""
    event = _event(request, pk)
    if (
        wants_fragment(request)
        and request.GET.get("shown") == EventStatus.SCHEDULED
        and event.status != EventStatus.SCHEDULED
    ):
        # The dial-out began (or someone canceled) while this page showed the plan: the
        # whole page changes (the roster by role appears, editing goes), not the countdown.
        return HttpResponseClientRefresh()
    form = _edit_form(event)
    status = 200
    if request.method == "POST":
        if not request.user.has_perm("conferences.plan_events"):
            raise PermissionDenied
        form = _edit_form(event, request.POST)
        if form.is_valid():
            try:
                planning.edit_event(user=_user(request), event=event, plan=form.plan())
            except planning.EventRefused as refused:
                _refused_into(form, refused)
            else:
                messages.success(request, "Saved.")
                return redirect("conferences:event-detail", event.pk)
        status = 422
    context = {
        "event": event,
        "row": selectors.event_row(request.user, event, timezone.now()),
        "form": form,
        "console": selectors.console(request.user, event),
        "role_forms": _role_forms(event),
        "can_act": live_access.can_act(request.user, event.conference),
        "can_change": event.changeable
        and request.user.has_perm("conferences.plan_events")
        and live_access.can_act(request.user, event.conference),
    }
    return render_page(request, EVENT_PAGE, context, fragment="countdown", status=status)


@require_POST
@permission_required("conferences.plan_events", raise_exception=True)
def event_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel an event before its dial-out: nobody will be dialed."""
    event = _event(request, pk)
    try:
        planning.cancel_event(user=_user(request), event=event)
    except planning.EventRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(
            request, f"{event.conference.friendly_name} is canceled; nobody will be dialed."
        )
    return redirect("conferences:event-detail", event.pk)


def _runnable_event(request: HttpRequest, pk: int) -> ScheduledConference:
    event = _event(request, pk)
    if not live_access.can_act(request.user, event.conference):
        raise PermissionDenied
    return event


@require_GET
@permission_required("conferences.view_own_calls", raise_exception=True)
def event_console(request: HttpRequest, pk: int) -> HttpResponse:
    """The roster grouped by role with lecture mode and the floor, polled every 2 s."""
    event = _event(request, pk)
    if not wants_fragment(request):
        return redirect("conferences:event-detail", event.pk)
    context = {"event": event, "console": selectors.console(request.user, event)}
    context["can_act"] = live_access.can_act(request.user, event.conference)
    return render_page(request, EVENT_PAGE, context, fragment="console")


@require_POST
@permission_required("conferences.act_on_own_conference", raise_exception=True)
def event_lecture(request: HttpRequest, pk: int) -> HttpResponse:
    """Lecture mode on (mute every listener, keep late ones muted) or off."""
    event = _runnable_event(request, pk)
    form = SwitchForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose on or off.")
        return redirect("conferences:event-detail", event.pk)
    turn = lecture.start_lecture if form.cleaned_data["on"] else lecture.end_lecture
    report = turn(user=_user(request), conference=event.conference)
    messages.success(request, report.message)
    for answer in report.answers:
        (messages.success if answer.ok else messages.error)(request, answer.message)
    return redirect("conferences:event-detail", event.pk)


@require_POST
@permission_required("conferences.act_on_own_conference", raise_exception=True)
def event_floor(request: HttpRequest, pk: int, call_sid: str) -> HttpResponse:
    """Give one listener the floor (unmute), or take it back (mute)."""
    event = _runnable_event(request, pk)
    form = SwitchForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose to give the floor or take it back.")
        return redirect("conferences:event-detail", event.pk)
    try:
        answer = lecture.give_floor(
            user=_user(request),
            conference=event.conference,
            call_sid=call_sid,
            give=form.cleaned_data["on"],
        )
    except LiveActionRefused as refused:
        messages.error(request, str(refused))
    else:
        (messages.success if answer.ok else messages.error)(request, answer.message)
    return redirect("conferences:event-detail", event.pk)


@require_POST
@permission_required("conferences.plan_events", raise_exception=True)
def event_role_settings(request: HttpRequest, pk: int, role: str) -> HttpResponse:
    """Change how one role joins (Create Participant settings) for dials from now on."""
    event = _runnable_event(request, pk)
    if role not in ROLE_DEFAULTS:
        raise Http404
    form = RoleSettingsForm(request.POST, prefix=role)
    if not form.is_valid():
        messages.error(request, "Those settings are not valid: " + form.errors.as_text())
    else:
        planning.change_role_settings(
            user=_user(request), event=event, role=role, values=form.cleaned_data
        )
        messages.success(request, f"{role.capitalize()}s will join with these settings.")
    return redirect("conferences:event-detail", event.pk)


def _visible_conference(request: HttpRequest, pk: int) -> Conference:
    return get_object_or_404(live_access.visible_conferences(request.user), pk=pk)


@require_GET
@permission_required("conferences.view_own_calls", raise_exception=True)
def conference_summary(request: HttpRequest, pk: int) -> HttpResponse:
    """After the call: start, end, why, peak, and each invitee's attendance and attempts."""
    conference = _visible_conference(request, pk)
    summary = event_summary.conference_summary(request.user, conference)
    event = ScheduledConference.objects.filter(conference=conference).first()
    return render_page(request, SUMMARY_PAGE, {"summary": summary, "event": event})


@require_GET
@permission_required("conferences.view_own_calls", raise_exception=True)
def attendance_export(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """The attendance as CSV (numbers as this user sees them, formulas escaped); audited."""
    conference = _visible_conference(request, pk)
    summary = event_summary.conference_summary(request.user, conference)
    audit.record(
        AuditAction.EXPORT,
        actor=_user(request),
        conference=conference,
        detail={"what": "attendance", "rows": len(summary.invitees)},
    )
    response = StreamingHttpResponse(
        event_summary.attendance_csv(summary), content_type="text/csv; charset=utf-8"
    )
    name = f"attendance-{conference.pk}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_http_methods(["GET", "POST"])
@permission_required("conferences.act_on_own_conference", raise_exception=True)
def own_phone(request: HttpRequest) -> HttpResponse:
    """Where this user takes listen, whisper and barge calls."""
    user = _user(request)
    current = OperatorPhone.objects.filter(user=user).first()
    form = OwnPhoneForm(initial={"address": current.address if current else ""})
    status = 200
    if request.method == "POST":
        form = OwnPhoneForm(request.POST)
        if form.is_valid():
            monitoring.set_own_phone(user=user, address=form.cleaned_data["address"])
            messages.success(request, "Saved.")
            return redirect("conferences:own-phone")
        status = 422
    return render_page(request, PHONE_PAGE, {"form": form}, status=status)


@require_POST
@permission_required("conferences.act_on_own_conference", raise_exception=True)
def conference_monitor(request: HttpRequest, pk: int) -> HttpResponse:
    """Listen, whisper to someone, barge or leave, on this user's one leg."""
    conference = _visible_conference(request, pk)
    event = ScheduledConference.objects.filter(conference=conference).first()
    target = (
        ("conferences:event-detail", event.pk) if event else ("conferences:conference-detail", pk)
    )
    form = MonitorForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose listen, whisper, barge or leave.")
        return redirect(*target)
    try:
        result = monitoring.monitor(
            user=_user(request),
            conference=conference,
            mode=form.cleaned_data["mode"],
            target=form.cleaned_data["target"],
        )
    except LiveActionRefused as refused:
        messages.error(request, str(refused))
    else:
        (messages.success if result.ok else messages.error)(request, result.message)
    return redirect(*target)
