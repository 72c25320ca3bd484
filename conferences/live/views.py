"""The live conference pages: the list, and one conference's roster, controls and invite
list. One page template; htmx swaps its partials, and every form works without it."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from conferences.core.htmx import render_page, wants_fragment
from conferences.live import access as live_access
from conferences.live import actions as live_actions
from conferences.live import invite_dialing, invite_import, invite_list
from conferences.live import operators as live_operators
from conferences.live import roster as live_roster
from conferences.live.forms import (
    AddOperatorForm,
    AnnounceForm,
    ControlsForm,
    DialAllForm,
    InviteImportForm,
    ParticipantActionForm,
    PlanConferenceForm,
    RedialForm,
)
from conferences.models import BulkDialRun, Conference, Invitee, User

PAGE = "conferences/live/detail.html"
LIST_PAGE = "conferences/live/list.html"
# Out of band: empties the status line wherever the main answer is swapped.
CLEARED_STATUS_LINE = b'<div id="live-status" hx-swap-oob="innerHTML"></div>'


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # noqa: S101 -- LoginRequiredMiddleware guards every view
    return user


def _conference(request: HttpRequest, pk: int) -> Conference:
    """The conference, if this user may see it (404 otherwise: its existence is private)."""
    return get_object_or_404(live_access.visible_conferences(request.user), pk=pk)


# --- The page and its partials --------------------------------------------------------


class LivePage:
    """What the detail page shows, computed only when a template reads it."""

    def __init__(self, request: HttpRequest, conference: Conference, seen: str = "") -> None:
        self.request = request
        self.user = _user(request)
        self.conference = conference
        self.seen = seen

    @cached_property
    def roster(self) -> live_roster.Roster:
        return live_roster.roster(self.user, self.conference)

    @cached_property
    def invites(self) -> invite_list.InviteList:
        return invite_list.invite_list(self.user, self.conference)

    @cached_property
    def announce_summary(self) -> bool:
        """Rewrite the status line only when the roster's summary changed since last poll."""
        return bool(self.seen) and self.seen != self.roster.summary_key

    @cached_property
    def can_act(self) -> bool:
        return live_access.can_act(self.user, self.conference)

    @cached_property
    def can_end(self) -> bool:
        return live_access.can_end(self.user, self.conference)

    @cached_property
    def can_bulk_dial(self) -> bool:
        return live_access.can_bulk_dial(self.user, self.conference)

    @cached_property
    def can_dial_invitee(self) -> bool:
        return live_access.can_dial_invitee(self.user, self.conference)

    @cached_property
    def run_by(self) -> live_operators.RunBy:
        return live_operators.run_by(self.conference)

    @cached_property
    def can_add_operators(self) -> bool:
        return live_access.can_add_operators(self.user)

    @cached_property
    def caller_ids(self) -> list[str]:
        return invite_list.caller_ids(self.conference)


def _render(
    request: HttpRequest,
    conference: Conference,
    fragment: str | None = None,
    *,
    status: int = 200,
    page: LivePage | None = None,
    **extra: Any,
) -> HttpResponse:
    """The page, or one partial of it for htmx; `extra` fills or replaces forms and panels."""
    page = page or LivePage(request, conference, seen=request.GET.get("seen", ""))
    context: dict[str, Any] = {
        "conference": conference,
        "page": page,
        "announce_form": AnnounceForm(),
        "controls_form": ControlsForm(instance=live_access.controls_for(conference)),
        "import_form": InviteImportForm(),
        "dial_all_form": DialAllForm(caller_ids=page.caller_ids),
        "operator_form": AddOperatorForm(conference=conference),
        **extra,
    }
    return render_page(request, PAGE, context, fragment=fragment, status=status)


def _answer(
    request: HttpRequest,
    conference: Conference,
    message: str,
    *,
    ok: bool,
    refresh: tuple[str, ...] = ("roster",),
    cleared: str = "",
) -> HttpResponse:
    """An action's result: in the status line (htmx) or as a message after a redirect.
    For htmx the parts it changed come along out of band (`cleared`: the participant whose
    confirm step closes)."""
    if not wants_fragment(request):
        (messages.success if ok else messages.error)(request, message)
        return redirect("conferences:conference-detail", conference.pk)
    return _render(
        request,
        conference,
        "action-result",
        result_message=message,
        result_ok=ok,
        refresh=refresh,
        cleared=cleared,
    )


def _invalid(
    request: HttpRequest, conference: Conference, fragment: str, **forms: Any
) -> HttpResponse:
    """A form with errors, back in its own place (htmx aimed the answer at the status line)."""
    response = _render(request, conference, fragment, status=422, **forms)
    if wants_fragment(request):
        retarget(response, f"#{fragment}")
        reswap(response, "outerHTML")
        # An earlier action's "saved" must not stand beside these errors.
        response.content += CLEARED_STATUS_LINE
    return response


# --- Views ----------------------------------------------------------------------------


@require_GET
@permission_required("conferences.view_own_calls", raise_exception=True)
def conference_list(request: HttpRequest) -> HttpResponse:
    """Conferences the user may see: live ones first."""
    listing = live_access.conference_list(request.user, page_number=request.GET.get("page"))
    context = {"listing": listing, "plan_form": PlanConferenceForm()}
    return render(request, LIST_PAGE, context)


@require_POST
@permission_required("conferences.bulk_dial", raise_exception=True)
def conference_plan(request: HttpRequest) -> HttpResponse:
    """Open a conference by name (before anyone is dialed), to give it an invite list."""
    form = PlanConferenceForm(request.POST)
    if form.is_valid():
        try:
            conference = live_actions.open_conference(
                user=_user(request), friendly_name=form.cleaned_data["friendly_name"]
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
    return _render(request, _conference(request, pk))


@require_GET
@permission_required("conferences.view_own_calls", raise_exception=True)
def conference_roster(request: HttpRequest, pk: int) -> HttpResponse:
    """The roster, polled every 2 s; 286 stops the polling once the conference ended."""
    conference = _conference(request, pk)
    page = LivePage(request, conference, seen=request.GET.get("seen", ""))
    stop = wants_fragment(request) and not page.roster.live
    return _render(request, conference, "roster", page=page, status=286 if stop else 200)


@require_GET
@permission_required("conferences.view_own_calls", raise_exception=True)
def conference_invitees(request: HttpRequest, pk: int) -> HttpResponse:
    """The invite list and bulk dial progress, polled while anything is under way."""
    conference = _conference(request, pk)
    page = LivePage(request, conference)
    stop = wants_fragment(request) and not page.invites.active
    return _render(request, conference, "invitees", page=page, status=286 if stop else 200)


@require_GET
@permission_required("conferences.act_on_own_conference", raise_exception=True)
def participant_step(request: HttpRequest, pk: int, call_sid: str, step: str) -> HttpResponse:
    """The in-place step before a participant action: confirm removal, or choose whom to coach."""
    conference = _conference(request, pk)
    if step not in ("remove", "coach"):
        # "keep": the operator changed their mind; htmx empties the step's slot.
        if wants_fragment(request):
            return _render(request, conference, "step")
        return redirect("conferences:conference-detail", pk)
    roster = live_roster.roster(request.user, conference)
    entry = roster.entry(call_sid)
    if entry is None or not entry.controllable:
        return _answer(request, conference, "That participant is not in the conference.", ok=False)
    panel = {"kind": step, "entry": entry, "targets": roster.coach_targets(call_sid)}
    return _render(request, conference, "step", panel=panel)


@require_POST
@permission_required("conferences.act_on_own_conference", raise_exception=True)
def participant_action(request: HttpRequest, pk: int, call_sid: str) -> HttpResponse:
    """Mute, hold, coach, change exit settings of or remove one participant."""
    conference = _conference(request, pk)
    form = ParticipantActionForm(request.POST)
    if not form.is_valid():
        return _answer(request, conference, "That action is not known.", ok=False)
    try:
        result = live_actions.act_on_participant(
            user=_user(request), conference=conference, call_sid=call_sid, command=form.command()
        )
    except live_actions.LiveActionRefused as refused:
        return _answer(request, conference, str(refused), ok=False, cleared=call_sid)
    return _answer(request, conference, result.message, ok=result.ok, cleared=call_sid)


@require_POST
@permission_required("conferences.act_on_own_conference", raise_exception=True)
def conference_announce(request: HttpRequest, pk: int) -> HttpResponse:
    """Play an announcement to everyone in the conference."""
    conference = _conference(request, pk)
    form = AnnounceForm(request.POST)
    if not form.is_valid():
        return _invalid(request, conference, "announce", announce_form=form)
    try:
        result = live_actions.announce(
            user=_user(request),
            conference=conference,
            url=form.cleaned_data["url"],
            method=form.cleaned_data["method"],
        )
    except live_actions.LiveActionRefused as refused:
        return _answer(request, conference, str(refused), ok=False)
    return _answer(request, conference, result.message, ok=result.ok)


@require_http_methods(["GET", "POST"])
@permission_required("conferences.end_conference", raise_exception=True)
def conference_end(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: ask to confirm in place. POST: end the conference for everyone."""
    conference = _conference(request, pk)
    if request.method == "GET":
        panel = None if request.GET.get("keep") else {"kind": "end"}
        return _render(request, conference, "end-step", panel=panel)
    try:
        result = live_actions.end_conference(user=_user(request), conference=conference)
    except live_actions.LiveActionRefused as refused:
        return _answer(request, conference, str(refused), ok=False, refresh=("controls",))
    return _answer(
        request, conference, result.message, ok=result.ok, refresh=("roster", "controls")
    )


@require_POST
@permission_required("conferences.act_on_own_conference", raise_exception=True)
def conference_settings(request: HttpRequest, pk: int) -> HttpResponse:
    """Hold music, automatic redials, voicemail removal and where the roster comes from."""
    conference = _conference(request, pk)
    form = ControlsForm(request.POST, instance=live_access.controls_for(conference))
    if not form.is_valid():
        return _invalid(request, conference, "settings", controls_form=form)
    live_actions.update_controls(user=_user(request), conference=conference, values=form.values())
    return _answer(request, conference, "Settings saved.", ok=True, refresh=("roster", "invitees"))


@require_POST
@permission_required("conferences.bulk_dial", raise_exception=True)
def invitees_import(request: HttpRequest, pk: int) -> HttpResponse:
    """Check an invite list (every row, with reasons) or, once confirmed, add its good rows."""
    conference = _conference(request, pk)
    form = InviteImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render(request, conference, "invite-preview", status=422, import_form=form)
    text = form.cleaned_data["text"]
    if request.POST.get("step") != "confirm":
        preview = invite_import.read_invite_list(text, conference=conference, user=request.user)
        return _render(request, conference, "invite-preview", preview=preview, import_form=form)
    try:
        added = invite_import.add_invitees(user=_user(request), conference=conference, text=text)
    except live_actions.LiveActionRefused as refused:
        return _answer(request, conference, str(refused), ok=False, refresh=("invitees",))
    skipped = len(added.preview.rows) - added.added
    message = f"{added.added} invitees added." + (
        f" {skipped} rows were not added (invalid or already on the list)." if skipped else ""
    )
    return _answer(
        request, conference, message, ok=True, refresh=("invitees", "preview", "dial-all")
    )


@require_POST
@permission_required("conferences.bulk_dial", raise_exception=True)
def conference_dial_all(request: HttpRequest, pk: int) -> HttpResponse:
    """Dial every invitee who is not queued, ringing or in the conference."""
    conference = _conference(request, pk)
    form = DialAllForm(request.POST, caller_ids=invite_list.caller_ids(conference))
    if not form.is_valid():
        return _answer(request, conference, "Choose a number to call from.", ok=False)
    try:
        run = invite_dialing.dial_all_missing(
            user=_user(request), conference=conference, caller_id=form.cleaned_data["caller_id"]
        )
    except live_actions.LiveActionRefused as refused:
        return _answer(request, conference, str(refused), ok=False, refresh=("invitees",))
    progress = invite_list.run_progress(run)
    message = f"Dialing {progress.total} invitees" + (
        f"; {run.skipped} already queued, ringing or in." if run.skipped else "."
    )
    return _answer(request, conference, message, ok=True, refresh=("invitees", "roster"))


@require_POST
@permission_required("conferences.bulk_dial", raise_exception=True)
def bulk_run_cancel(request: HttpRequest, pk: int, run_id: int) -> HttpResponse:
    """Stop the dials of a bulk dial that no worker has started yet."""
    conference = _conference(request, pk)
    run = get_object_or_404(BulkDialRun, pk=run_id, conference=conference)
    canceled = invite_dialing.cancel_bulk_dial(user=_user(request), run=run)
    message = f"Canceled {canceled} dials that had not started; calls already placed go on."
    return _answer(request, conference, message, ok=True, refresh=("invitees", "roster"))


@require_POST
@permission_required("conferences.dial", raise_exception=True)
def invitee_dial(request: HttpRequest, pk: int, invitee_id: int) -> HttpResponse:
    """One click: dial an invitee (again) into this conference."""
    conference = _conference(request, pk)
    invitee = get_object_or_404(Invitee, pk=invitee_id, conference=conference)
    form = RedialForm(request.POST)
    after = form.cleaned_data.get("after_dial") if form.is_valid() else None
    try:
        dial = invite_dialing.redial_invitee(
            user=_user(request), invitee=invitee, after_dial_id=after
        )
    except live_actions.LiveActionRefused as refused:
        return _answer(request, conference, str(refused), ok=False, refresh=("invitees",))
    if dial is None:
        message = f"{invitee.name} is already being dialed or is in the conference."
        return _answer(request, conference, message, ok=False, refresh=("invitees",))
    message = f"Dialing {invitee.name} into {conference.friendly_name}."
    return _answer(request, conference, message, ok=True, refresh=("invitees", "roster"))


@require_POST
@permission_required("conferences.bulk_dial", raise_exception=True)
def invitee_remove(request: HttpRequest, pk: int, invitee_id: int) -> HttpResponse:
    """Take an invitee off the list (their past calls stay in the history)."""
    conference = _conference(request, pk)
    invitee = get_object_or_404(Invitee, pk=invitee_id, conference=conference)
    try:
        invite_import.remove_invitee(user=_user(request), invitee=invitee)
    except live_actions.LiveActionRefused as refused:
        return _answer(request, conference, str(refused), ok=False, refresh=("invitees",))
    message = f"{invitee.name} is off the list."
    return _answer(request, conference, message, ok=True, refresh=("invitees", "dial-all"))


@require_POST
@permission_required("conferences.add_conference_operators", raise_exception=True)
def conference_operator_add(request: HttpRequest, pk: int) -> HttpResponse:
    """A supervisor adds an operator to a conference someone else runs."""
    conference = _conference(request, pk)
    form = AddOperatorForm(request.POST, conference=conference)
    if not form.is_valid():
        return _invalid(request, conference, "operators", operator_form=form)
    operator = form.cleaned_data["operator"]
    try:
        live_operators.add_operator(user=_user(request), conference=conference, operator=operator)
    except live_actions.LiveActionRefused as refused:
        return _answer(request, conference, str(refused), ok=False, refresh=("operators",))
    message = f"{operator} now runs {conference.friendly_name} too."
    return _answer(request, conference, message, ok=True, refresh=("operators",))


@require_POST
@permission_required("conferences.add_conference_operators", raise_exception=True)
def conference_operator_remove(request: HttpRequest, pk: int, user_id: int) -> HttpResponse:
    """A supervisor takes an added operator off the conference."""
    conference = _conference(request, pk)
    try:
        name = live_operators.remove_operator(
            user=_user(request), conference=conference, operator_id=user_id
        )
    except live_actions.LiveActionRefused as refused:
        return _answer(request, conference, str(refused), ok=False, refresh=("operators",))
    message = f"{name} no longer runs {conference.friendly_name}."
    return _answer(request, conference, message, ok=True, refresh=("operators",))
