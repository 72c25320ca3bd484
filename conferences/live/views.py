"""The live conference pages: the list, and one conference's roster, controls and invite
list. One page template; htmx swaps its partials, and every form works without it."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from conferences.core.htmx import render_page, wants_fragment
from conferences.dialing import submission as dial_submission
from conferences.dialing import views as dial_views
from conferences.live import access as live_access
from conferences.live import actions as live_actions
from conferences.live import callers
from conferences.live import operators as live_operators
from conferences.live import roster as live_roster
from conferences.live.forms import (
    AddOperatorForm,
    AnnounceForm,
    ControlsForm,
    ParticipantActionForm,
    PlanConferenceForm,
)
from conferences.live.page import (
    LIST_PAGE,
    LivePage,
    action_answer,
    invalid_form,
    render_conference,
    request_user,
    visible_conference,
)

# --- Views ----------------------------------------------------------------------------


@require_GET
@permission_required("conferences.view_own_calls", raise_exception=True)
def conference_list(request: HttpRequest) -> HttpResponse:
    """Conferences the user may see: live ones first."""
    listing = live_access.conference_list(request.user, page_number=request.GET.get("page"))
    context = {"listing": listing, "plan_form": PlanConferenceForm()}
    return render_page(request, LIST_PAGE, context, fragment="listing")


@require_POST
@permission_required("conferences.bulk_dial", raise_exception=True)
def conference_plan(request: HttpRequest) -> HttpResponse:
    """Open a conference by name (before anyone is dialed), to give it an invite list."""
    form = PlanConferenceForm(request.POST)
    if form.is_valid():
        try:
            conference = live_actions.open_conference(
                user=request_user(request), friendly_name=form.cleaned_data["friendly_name"]
            )
        except live_actions.LiveActionRefused as refused:
            form.add_error("friendly_name", str(refused))
        else:
            return redirect("conferences:conference-detail", conference.pk)
    listing = live_access.conference_list(request.user)
    return render(request, LIST_PAGE, {"listing": listing, "plan_form": form}, status=422)


@require_GET
@permission_required("conferences.view_own_calls", raise_exception=True)
def conference_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One conference: roster, controls and invite list."""
    return render_conference(request, visible_conference(request, pk))


@require_GET
@permission_required("conferences.view_own_calls", raise_exception=True)
def conference_roster(request: HttpRequest, pk: int) -> HttpResponse:
    """The roster, polled every 2 s; 286 stops the polling once the conference ended."""
    conference = visible_conference(request, pk)
    page = LivePage(request, conference, seen=request.GET.get("seen", ""))
    stop = wants_fragment(request) and not page.roster.live
    if stop:
        # Ended: the controls that only make sense while it runs go with the last poll.
        return render_conference(request, conference, "roster-ended", page=page, status=286)
    return render_conference(request, conference, "roster", page=page)


@require_GET
@permission_required("conferences.view_own_calls", raise_exception=True)
def conference_invitees(request: HttpRequest, pk: int) -> HttpResponse:
    """The invite list and bulk dial progress, polled while anything is under way."""
    conference = visible_conference(request, pk)
    page = LivePage(request, conference)
    stop = wants_fragment(request) and not page.invites.active
    return render_conference(
        request, conference, "invitees", page=page, status=286 if stop else 200
    )


@require_GET
@permission_required("conferences.act_on_own_conference", raise_exception=True)
def participant_step(request: HttpRequest, pk: int, call_sid: str, step: str) -> HttpResponse:
    """The in-place step before a participant action: confirm removal, or choose whom to coach."""
    conference = visible_conference(request, pk)
    if step not in ("remove", "coach"):
        # "keep": the operator changed their mind; htmx empties the step's slot.
        if wants_fragment(request):
            return render_conference(request, conference, "step")
        return redirect("conferences:conference-detail", pk)
    roster = live_roster.roster(request.user, conference)
    entry = roster.entry(call_sid)
    if entry is None or not entry.controllable:
        return action_answer(
            request, conference, "That participant is not in the conference.", ok=False
        )
    panel = {"kind": step, "entry": entry, "targets": roster.coach_targets(call_sid)}
    return render_conference(request, conference, "step", panel=panel)


@require_POST
@permission_required("conferences.act_on_own_conference", raise_exception=True)
def participant_action(request: HttpRequest, pk: int, call_sid: str) -> HttpResponse:
    """Mute, hold, coach, change exit settings of or remove one participant."""
    conference = visible_conference(request, pk)
    form = ParticipantActionForm(request.POST)
    if not form.is_valid():
        return action_answer(request, conference, "That action is not known.", ok=False)
    try:
        result = live_actions.act_on_participant(
            user=request_user(request),
            conference=conference,
            call_sid=call_sid,
            command=form.command(),
        )
    except live_actions.LiveActionRefused as refused:
        message, ok = str(refused), False
    else:
        message, ok = result.message, result.ok
    if request.POST.get("next") == "recent-dials":
        # Hung up from the dial page's recent dials: the answer goes back there.
        return dial_views.recent_dials_answer(request, message, ok=ok)
    return action_answer(request, conference, message, ok=ok, cleared=call_sid)


@require_POST
@permission_required("conferences.dial", raise_exception=True)
def conference_add_caller(request: HttpRequest, pk: int) -> HttpResponse:
    """Dial one caller into this conference from its page."""
    conference = visible_conference(request, pk)
    page = LivePage(request, conference)
    form = callers.caller_form(conference, page.caller_ids, request.POST)
    if form.is_valid():
        try:
            dial = callers.add_caller(user=request_user(request), conference=conference, form=form)
        except live_actions.LiveActionRefused as refused:
            form.add_error(None, str(refused))
        except dial_submission.LabelInUse as in_use:
            data = request.POST.copy()
            data["label"] = in_use.suggestion
            form = callers.caller_form(conference, page.caller_ids, data)
            form.is_valid()
            form.add_error(
                "label",
                f"“{in_use.label}” is already used in this conference. “{in_use.suggestion}” "
                "is free and filled in: press Dial to use it.",
            )
        else:
            name = dial_submission.chosen_label(dial.label) or dial.to_number
            message = f"Dialing {name} into {conference.friendly_name}."
            return action_answer(
                request, conference, message, ok=True, refresh=("roster", "add-caller")
            )
    return invalid_form(request, conference, "add-caller", caller_form=form, page=page)


@require_POST
@permission_required("conferences.act_on_own_conference", raise_exception=True)
def conference_announce(request: HttpRequest, pk: int) -> HttpResponse:
    """Play an announcement to everyone in the conference."""
    conference = visible_conference(request, pk)
    form = AnnounceForm(request.POST)
    if not form.is_valid():
        return invalid_form(request, conference, "announce", announce_form=form)
    try:
        result = live_actions.announce(
            user=request_user(request),
            conference=conference,
            url=form.cleaned_data["url"],
            method=form.cleaned_data["method"],
        )
    except live_actions.LiveActionRefused as refused:
        return action_answer(request, conference, str(refused), ok=False)
    return action_answer(request, conference, result.message, ok=result.ok)


@require_http_methods(["GET", "POST"])
@permission_required("conferences.end_conference", raise_exception=True)
def conference_end(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: ask to confirm in place. POST: end the conference for everyone."""
    conference = visible_conference(request, pk)
    if request.method == "GET":
        panel = None if request.GET.get("keep") else {"kind": "end"}
        return render_conference(request, conference, "end-step", panel=panel)
    try:
        result = live_actions.end_conference(user=request_user(request), conference=conference)
    except live_actions.LiveActionRefused as refused:
        return action_answer(request, conference, str(refused), ok=False, refresh=("controls",))
    return action_answer(
        request, conference, result.message, ok=result.ok, refresh=("roster", "controls")
    )


@require_POST
@permission_required("conferences.act_on_own_conference", raise_exception=True)
def conference_settings(request: HttpRequest, pk: int) -> HttpResponse:
    """Hold music, automatic redials, voicemail removal and where the roster comes from."""
    conference = visible_conference(request, pk)
    form = ControlsForm(request.POST, instance=live_access.controls_for(conference))
    if not form.is_valid():
        return invalid_form(request, conference, "settings", controls_form=form)
    live_actions.update_controls(
        user=request_user(request), conference=conference, values=form.values()
    )
    return action_answer(
        request, conference, "Settings saved.", ok=True, refresh=("roster", "invitees")
    )


@require_POST
@permission_required("conferences.add_conference_operators", raise_exception=True)
def conference_operator_add(request: HttpRequest, pk: int) -> HttpResponse:
    """A supervisor adds an operator to a conference someone else runs."""
    conference = visible_conference(request, pk)
    form = AddOperatorForm(request.POST, conference=conference)
    if not form.is_valid():
        return invalid_form(request, conference, "operators", operator_form=form)
    operator = form.cleaned_data["operator"]
    try:
        live_operators.add_operator(
            user=request_user(request), conference=conference, operator=operator
        )
    except live_actions.LiveActionRefused as refused:
        return action_answer(request, conference, str(refused), ok=False, refresh=("operators",))
    message = f"{operator} now runs {conference.friendly_name} too."
    return action_answer(request, conference, message, ok=True, refresh=("operators",))


@require_POST
@permission_required("conferences.add_conference_operators", raise_exception=True)
def conference_operator_remove(request: HttpRequest, pk: int, user_id: int) -> HttpResponse:
    """A supervisor takes an added operator off the conference."""
    conference = visible_conference(request, pk)
    try:
        name = live_operators.remove_operator(
            user=request_user(request), conference=conference, operator_id=user_id
        )
    except live_actions.LiveActionRefused as refused:
        return action_answer(request, conference, str(refused), ok=False, refresh=("operators",))
    message = f"{name} no longer runs {conference.friendly_name}."
    return action_answer(request, conference, message, ok=True, refresh=("operators",))
