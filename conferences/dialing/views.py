"""The operator's dial page. Views stay short: services and selectors do the work."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from conferences.accounts import twilio_accounts
from conferences.audit import trail as audit
from conferences.callbacks import relay
from conferences.callbacks.addresses import CALLBACK_PARAMETERS
from conferences.core.htmx import HtmxHttpRequest, render_page, vary_on_htmx, wants_fragment
from conferences.dialing import presets
from conferences.dialing import selectors as dial_selectors
from conferences.dialing import submission as dial_submission
from conferences.dialing.forms import DialForm
from conferences.models import FINAL_DIAL_STATUSES, User
from conferences.schema import GROUPS

PAGE = "conferences/dial.html"
RELAY_URL_FIELDS = {
    "status_callback": "StatusCallback",
    "conference_status_callback": "ConferenceStatusCallback",
    "recording_status_callback": "RecordingStatusCallback",
    "conference_recording_status_callback": "ConferenceRecordingStatusCallback",
    "amd_status_callback": "AmdStatusCallback",
}
assert set(RELAY_URL_FIELDS.values()) == set(CALLBACK_PARAMETERS)  # noqa: S101 -- import-time


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # noqa: S101 -- login is required for these views
    return user


def _dial_form(request: HttpRequest, data: Any = None, initial: Any = None) -> DialForm:
    account = twilio_accounts.default_account()
    initial = dict(initial or {})
    if account.caller_ids and not initial.get("from"):
        # Most dials go out from the one configured caller ID: start with it filled in.
        initial["from"] = account.caller_ids[0]
    return DialForm(data, caller_ids=account.caller_ids, initial=initial)


def _context(request: HttpRequest, form: DialForm, **extra: Any) -> dict[str, Any]:
    user = _user(request)
    dials = list(dial_selectors.recent_dials(user))
    return {
        "form": form,
        "open_groups": _open_groups(form),
        "conference_names": dial_selectors.open_conference_names(
            twilio_accounts.default_account(), user
        ),
        "recent_dials": dials,
        "recent_live": any(d.status not in FINAL_DIAL_STATUSES for d in dials),
        "presets": presets.presets_for(user),
        "can_share_presets": user.has_perm("conferences.manage_shared_presets"),
        **extra,
    }


def _open_groups(form: DialForm) -> set[str]:
    """Groups shown expanded: basic always; others when they hold a value or an error."""
    opened = {"basic"}
    for group in GROUPS:
        if form.group_has_values(group.key) or (form.is_bound and form.group_has_errors(group.key)):
            opened.add(group.key)
    return opened


@require_GET
@permission_required("conferences.dial", raise_exception=True)
def dial(request: HttpRequest) -> HttpResponse:
    """The operator's main screen: dial a caller into a conference."""
    user = _user(request)
    initial = presets.initial_from_preset(user, request.GET.get("preset"))
    initial |= presets.initial_from_dial(user, request.GET.get("again"))
    return render(request, PAGE, _context(request, _dial_form(request, initial=initial)))


def _relay_errors(form: DialForm) -> None:
    """The operator's own callback URLs are relayed: only to allow-listed hosts."""
    for field_name in RELAY_URL_FIELDS:
        url = form.cleaned_data.get(field_name)
        if url and (problem := relay.check_target_url(url)):
            form.add_error(field_name, f"Callbacks cannot be relayed there: {problem}.")


@require_POST
@permission_required("conferences.dial", raise_exception=True)
def dial_submit(request: HtmxHttpRequest) -> HttpResponse:
    """Validate and queue a dial (or save the advanced options as a preset)."""
    if request.POST.get("action") == "save-preset":
        return _save_preset(request)
    form = _dial_form(request, request.POST)
    if form.is_valid():
        _relay_errors(form)
    if form.is_valid():
        submission = dial_submission.DialSubmission(
            conference=form.conference_name(),
            params=form.loggable_twilio_params(),
            sip_auth_password=form.sip_auth_password() or "",
        )
        try:
            dial_request = dial_submission.submit_dial(
                operator=_user(request), submission=submission
            )
        except dial_submission.LabelInUse as in_use:
            form = _form_suggesting_label(request, in_use)
        except dial_submission.ConferenceRefused as refused:
            form.add_error("conference", str(refused))
            audit.record(
                audit.AuditAction.DIAL,
                actor=request.user,
                target_type="conference",
                target_id=submission.conference,
                outcome="refused",
                detail={"reason": "run by another operator"},
            )
        else:
            audit.record(audit.AuditAction.DIAL, actor=request.user, dial=dial_request)
            if not wants_fragment(request):
                messages.success(request, f"Dialing {dial_request.to_number}.")
                return redirect("conferences:dial")
            # Same options for the next caller; To is cleared and takes the focus.
            data = request.POST.copy()
            for cleared in ("to", "label", "sip_auth_password"):
                data.pop(cleared, None)
            form = _dial_form(request, initial=_as_initial(data))
            form.fields["to"].widget.attrs["autofocus"] = True  # htmx focuses it after the swap
            context = _context(request, form, just_dialed=dial_request)
            return _render(request, context, status=201)
    # 200, not 422: the browser would log a 4xx as an error, and this is an ordinary answer.
    return _render(request, _context(request, form))


def _form_suggesting_label(
    request: HtmxHttpRequest, in_use: dial_submission.LabelInUse
) -> DialForm:
    """The form as sent, with a free label in place of the taken one and a word saying so:
    pressing Dial again dials the caller under the new label."""
    data = request.POST.copy()
    data["label"] = in_use.suggestion
    form = _dial_form(request, data)
    form.is_valid()
    form.add_error(
        "label",
        f"“{in_use.label}” is already used in this conference (a call keeps its label "
        f"after it ends). “{in_use.suggestion}” is free and filled in: press Dial to use it.",
    )
    return form


def _multi_fields() -> set[str]:
    return {n for n, f in DialForm().fields.items() if isinstance(f, forms.MultipleChoiceField)}


def _as_initial(data: QueryDict) -> dict[str, Any]:
    """Submitted values as a fresh form's initial values (lists for multi-selects)."""
    multi = _multi_fields()
    return {
        name: data.getlist(name) if name in multi else data.get(name)
        for name in DialForm().fields
        if name in data
    }


def _render(
    request: HtmxHttpRequest, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    return render_page(request, PAGE, context, fragment="dial-form", status=status)


def _save_preset(request: HtmxHttpRequest) -> HttpResponse:
    user = _user(request)
    form = _dial_form(request, request.POST)
    name_form = presets.PresetNameForm(request.POST)
    values = presets.preset_values(request.POST, multi_fields=_multi_fields())
    form.is_valid()
    bad = [n for n in values if n in form.errors]
    context_extra: dict[str, Any] = {}
    if not name_form.is_valid():
        context_extra["preset_error"] = " ".join(
            str(error) for error in name_form.errors["preset_name"]
        )
    elif bad:
        context_extra["preset_error"] = "Fix the marked options before saving them as a preset."
    else:
        try:
            preset = presets.save_preset(
                user=user,
                name=name_form.cleaned_data["preset_name"],
                values=values,
                shared=request.POST.get("shared") == "on",
            )
        except presets.PresetNotAllowed as error:
            context_extra["preset_error"] = str(error)
        else:
            context_extra["preset_saved"] = preset
    # Show the form as typed, without errors for fields the preset does not cover.
    form = _dial_form(request, initial=_as_initial(request.POST))
    return _render(request, _context(request, form, **context_extra))


@require_POST
@permission_required("conferences.dial", raise_exception=True)
def dial_group(request: HttpRequest, key: str) -> HttpResponse:
    """One group of advanced options, expanded or collapsed, keeping what was typed."""
    if key not in {group.key for group in GROUPS} or key == "basic":
        raise Http404("No such group")
    form = _dial_form(request, initial=_as_initial(request.POST))
    group = next(g for g in form.groups() if g.key == key)
    response = render(
        request,
        f"{PAGE}#group",
        {"form": form, "group": group, "expanded": request.POST.get("open") == "1"},
    )
    vary_on_htmx(response)
    return response


@require_GET
@permission_required("conferences.dial", raise_exception=True)
def recent_dials(request: HttpRequest) -> HttpResponse:
    """The operator's recent dials, polled while any is still under way."""
    return recent_dials_answer(request)


def recent_dials_answer(
    request: HttpRequest, message: str = "", *, ok: bool = True
) -> HttpResponse:
    """Recent dials as a fragment, with the outcome of an action taken in a row (hang up,
    redial); without htmx, the dial page with the outcome as a message."""
    if message and not wants_fragment(request):
        (messages.success if ok else messages.error)(request, message)
        return redirect("conferences:dial")
    dials = list(dial_selectors.recent_dials(_user(request)))
    context = {
        "recent_dials": dials,
        "recent_live": any(d.status not in FINAL_DIAL_STATUSES for d in dials),
        "recent_message": message,
        "recent_ok": ok,
    }
    response = render(request, f"{PAGE}#recent", context)
    vary_on_htmx(response)
    return response


def _to_dial_page(request: HttpRequest, dial_id: int) -> HttpResponse:
    """The dial page filled in from this dial ("dial again"), as a whole page for htmx too."""
    url = f"{reverse('conferences:dial')}?again={dial_id}"
    return HttpResponseClientRedirect(url) if wants_fragment(request) else redirect(url)


@require_POST
@permission_required("conferences.dial", raise_exception=True)
def redial(request: HtmxHttpRequest, dial_id: int) -> HttpResponse:
    """Dial a past dial's caller again, with its options and the next free label (bob-2)."""
    user = _user(request)
    past = presets.dial_to_copy(user, dial_id)
    if past is None:
        raise Http404("No such dial")
    initial = presets.initial_from_dial(user, str(dial_id))
    if not initial.get("to") or past.sip_auth_password_encrypted:
        # A number the user only sees masked, or a SIP password we never show again: the
        # dial page takes it from there, filled in with what can be.
        return _to_dial_page(request, dial_id)
    data = QueryDict(mutable=True)
    for name, value in initial.items():
        data.setlist(name, value if isinstance(value, list) else [value])
    data["label"] = dial_submission.redial_label(
        past.label, dial_submission.labels_in_use(past.conference)
    )
    form = _dial_form(request, data)
    if form.is_valid():
        _relay_errors(form)
    if not form.is_valid():
        return _to_dial_page(request, dial_id)
    submission = dial_submission.DialSubmission(
        conference=form.conference_name(), params=form.loggable_twilio_params()
    )
    try:
        dial_request = dial_submission.submit_dial(operator=user, submission=submission)
    except (dial_submission.LabelInUse, dial_submission.ConferenceRefused) as refused:
        return recent_dials_answer(request, f"Not dialed again: {refused}.", ok=False)
    audit.record(audit.AuditAction.DIAL, actor=user, dial=dial_request)
    return recent_dials_answer(
        request, f"Dialing {dial_request.to_number} again as “{dial_request.label}”."
    )
