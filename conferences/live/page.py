"""The live conference page's parts every view of it uses: who asks, which conference
they may see, the page (or one htmx partial of it) with its forms, and an action's answer."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django_htmx.http import reswap, retarget

from conferences.core.htmx import render_page, wants_fragment
from conferences.live import access as live_access
from conferences.live import callers, invite_list
from conferences.live import operators as live_operators
from conferences.live import roster as live_roster
from conferences.live.forms import (
    AddOperatorForm,
    AnnounceForm,
    ControlsForm,
    DialAllForm,
    InviteImportForm,
)
from conferences.models import Conference, User

PAGE = "conferences/live/detail.html"
LIST_PAGE = "conferences/live/list.html"
# Out of band: empties the status line wherever the main answer is swapped.
CLEARED_STATUS_LINE = b'<div id="live-status" hx-swap-oob="innerHTML"></div>'


def request_user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # noqa: S101 -- LoginRequiredMiddleware guards every view
    return user


def visible_conference(request: HttpRequest, pk: int) -> Conference:
    """The conference, if this user may see it (404 otherwise: its existence is private)."""
    return get_object_or_404(live_access.visible_conferences(request.user), pk=pk)


# --- The page and its partials --------------------------------------------------------


class LivePage:
    """What the detail page shows, computed only when a template reads it."""

    def __init__(self, request: HttpRequest, conference: Conference, seen: str = "") -> None:
        self.request = request
        self.user = request_user(request)
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


def render_conference(
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
        "caller_form": callers.caller_form(conference, page.caller_ids),
        **extra,
    }
    return render_page(request, PAGE, context, fragment=fragment, status=status)


def action_answer(
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
    return render_conference(
        request,
        conference,
        "action-result",
        result_message=message,
        result_ok=ok,
        refresh=refresh,
        cleared=cleared,
    )


def invalid_form(
    request: HttpRequest, conference: Conference, fragment: str, **forms: Any
) -> HttpResponse:
    """A form with errors, back in its own place (htmx aimed the answer at the status line)."""
    response = render_conference(request, conference, fragment, status=422, **forms)
    if wants_fragment(request):
        retarget(response, f"#{fragment}")
        reswap(response, "outerHTML")
        # An earlier action's "saved" must not stand beside these errors.
        response.content += CLEARED_STATUS_LINE
    return response
