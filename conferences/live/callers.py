"""Adding one caller from the conference page: the dial form's own rules for To, From and
Label, then the same pipeline as the dial page (stored, queued, placed exactly once)."""

from __future__ import annotations

from typing import Any

from conferences.audit import trail as audit
from conferences.audit.trail import AuditAction
from conferences.dialing import submission as dial_submission
from conferences.dialing.forms import DialForm
from conferences.live import access as live_access
from conferences.live.actions import LiveActionRefused
from conferences.models import Conference, ConferenceStatus, DialRequest, User

# The fields the conference page's "Add a caller" box shows; the rest keep Twilio's defaults.
CALLER_FIELDS = ("to", "from", "label")


def caller_form(conference: Conference, caller_ids: list[str], data: Any = None) -> DialForm:
    """The dial form for this conference, holding only what the box sends."""
    initial = {"from": caller_ids[0]} if caller_ids else {}
    if data is not None:
        data = data.copy()
        data["conference"] = conference.friendly_name
    form = DialForm(data, caller_ids=caller_ids, initial=initial)
    for name in CALLER_FIELDS:
        # Its own ids: the conference page has other forms with a "label" or "to".
        form.fields[name].widget.attrs["id"] = f"add-caller-{name}"
    return form


def add_caller(*, user: User, conference: Conference, form: DialForm) -> DialRequest:
    """Dial one caller into this conference; LiveActionRefused when it cannot be done here,
    LabelInUse (with a free label to suggest) when the label is taken."""
    if not live_access.can_act(user, conference):
        raise LiveActionRefused("You may not dial into this conference.")
    if conference.status == ConferenceStatus.COMPLETED:
        raise LiveActionRefused("The conference has ended: plan a new one to dial into.")
    submission = dial_submission.DialSubmission(
        conference=conference.friendly_name, params=form.loggable_twilio_params()
    )
    try:
        dial = dial_submission.submit_dial(operator=user, submission=submission)
    except dial_submission.ConferenceRefused as refused:
        raise LiveActionRefused(str(refused)) from refused
    audit.record(AuditAction.DIAL, actor=user, dial=dial)
    return dial
