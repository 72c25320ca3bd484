"""The invite list's views on the conference page: check and add a list, dial everyone
missing, stop a dial-all, dial one invitee again, take one off."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_POST

from conferences.core.htmx import wants_fragment
from conferences.dialing import submission as dial_submission
from conferences.live import actions as live_actions
from conferences.live import invite_dialing, invite_import, invite_list
from conferences.live.forms import DialAllForm, InviteImportForm, RedialForm
from conferences.live.page import (
    CLEARED_STATUS_LINE,
    action_answer,
    render_conference,
    request_user,
    visible_conference,
)
from conferences.models import BulkDialRun, Invitee


@require_POST
@permission_required("conferences.bulk_dial", raise_exception=True)
def invitees_import(request: HttpRequest, pk: int) -> HttpResponse:
    """Check an invite list (every row, with reasons) or, once confirmed, add its good rows."""
    conference = visible_conference(request, pk)
    form = InviteImportForm(request.POST, request.FILES)
    if not form.is_valid():
        response = render_conference(
            request, conference, "invite-preview", status=422, import_form=form
        )
        if wants_fragment(request):
            response.content += CLEARED_STATUS_LINE  # no earlier "added" beside the errors
        return response
    text = form.cleaned_data["text"]
    if request.POST.get("step") != "confirm":
        preview = invite_import.read_invite_list(text, conference=conference, user=request.user)
        return render_conference(
            request, conference, "invite-preview", preview=preview, import_form=form
        )
    try:
        added = invite_import.add_invitees(
            user=request_user(request), conference=conference, text=text
        )
    except live_actions.LiveActionRefused as refused:
        return action_answer(request, conference, str(refused), ok=False, refresh=("invitees",))
    skipped = len(added.preview.rows) - added.added
    message = f"{added.added} invitees added." + (
        f" {skipped} rows were not added (invalid or already on the list)." if skipped else ""
    )
    return action_answer(
        request, conference, message, ok=True, refresh=("invitees", "preview", "dial-all")
    )


@require_POST
@permission_required("conferences.bulk_dial", raise_exception=True)
def conference_dial_all(request: HttpRequest, pk: int) -> HttpResponse:
    """Dial every invitee who is not queued, ringing or in the conference."""
    conference = visible_conference(request, pk)
    form = DialAllForm(request.POST, caller_ids=invite_list.caller_ids(conference))
    if not form.is_valid():
        return action_answer(request, conference, "Choose a number to call from.", ok=False)
    try:
        run = invite_dialing.dial_all_missing(
            user=request_user(request),
            conference=conference,
            caller_id=form.cleaned_data["caller_id"],
        )
    except live_actions.LiveActionRefused as refused:
        return action_answer(request, conference, str(refused), ok=False, refresh=("invitees",))
    progress = invite_list.run_progress(run)
    message = f"Dialing {progress.total} invitees" + (
        f"; {run.skipped} already queued, ringing or in." if run.skipped else "."
    )
    return action_answer(request, conference, message, ok=True, refresh=("invitees", "roster"))


@require_POST
@permission_required("conferences.bulk_dial", raise_exception=True)
def bulk_run_cancel(request: HttpRequest, pk: int, run_id: int) -> HttpResponse:
    """Stop the dials of a bulk dial that no worker has started yet."""
    conference = visible_conference(request, pk)
    run = get_object_or_404(BulkDialRun, pk=run_id, conference=conference)
    canceled = invite_dialing.cancel_bulk_dial(user=request_user(request), run=run)
    message = f"Canceled {canceled} dials that had not started; calls already placed go on."
    return action_answer(request, conference, message, ok=True, refresh=("invitees", "roster"))


@require_POST
@permission_required("conferences.dial", raise_exception=True)
def invitee_dial(request: HttpRequest, pk: int, invitee_id: int) -> HttpResponse:
    """One click: dial an invitee (again) into this conference."""
    conference = visible_conference(request, pk)
    invitee = get_object_or_404(Invitee, pk=invitee_id, conference=conference)
    form = RedialForm(request.POST)
    after = form.cleaned_data.get("after_dial") if form.is_valid() else None
    try:
        dial = invite_dialing.redial_invitee(
            user=request_user(request), invitee=invitee, after_dial_id=after
        )
    except live_actions.LiveActionRefused as refused:
        return action_answer(request, conference, str(refused), ok=False, refresh=("invitees",))
    except dial_submission.LabelInUse as in_use:
        # Taken by a dial sent between our look and our insert: the next try finds it.
        message = f"{invitee.name}: the label “{in_use.label}” was just taken; dial again."
        return action_answer(request, conference, message, ok=False, refresh=("invitees",))
    if dial is None:
        message = f"{invitee.name} is already being dialed or is in the conference."
        return action_answer(request, conference, message, ok=False, refresh=("invitees",))
    message = f"Dialing {invitee.name} into {conference.friendly_name}."
    return action_answer(request, conference, message, ok=True, refresh=("invitees", "roster"))


@require_POST
@permission_required("conferences.bulk_dial", raise_exception=True)
def invitee_remove(request: HttpRequest, pk: int, invitee_id: int) -> HttpResponse:
    """Take an invitee off the list (their past calls stay in the history)."""
    conference = visible_conference(request, pk)
    invitee = get_object_or_404(Invitee, pk=invitee_id, conference=conference)
    try:
        invite_import.remove_invitee(user=request_user(request), invitee=invitee)
    except live_actions.LiveActionRefused as refused:
        return action_answer(request, conference, str(refused), ok=False, refresh=("invitees",))
    message = f"{invitee.name} is off the list."
    return action_answer(request, conference, message, ok=True, refresh=("invitees", "dial-all"))
