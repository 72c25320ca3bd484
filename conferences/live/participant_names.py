"""How the pages name a participant: the invitee's name or the dial's label first, then
the number as the viewer may see it; an operator's own monitoring leg by the operator's
name, never by their phone's number."""

from __future__ import annotations

from conferences.accounts import masking
from conferences.dialing import submission as dial_submission
from conferences.live.access import Viewer
from conferences.live.attendance import participant_facts
from conferences.models import Conference, DialRequest, Invitee, InviteeDial, OperatorLeg


def operator_leg(dial: DialRequest) -> OperatorLeg | None:
    """The operator's monitoring leg this dial is, if it is one (selected with the dial)."""
    leg: OperatorLeg | None = getattr(dial, "operator_leg", None)
    return leg


def participant_name(user: Viewer, dial: DialRequest, invitee: Invitee | None) -> str:
    leg = operator_leg(dial)
    if leg is not None:
        # The operator by name: their own phone's number is nobody else's business.
        return f"{leg.user.get_full_name() or leg.user.get_username()} (operator)"
    number = masking.visible_dial_number(user, dial, dial.to_number)
    if invitee is not None and masking.may_see_invitee_number(user, invitee):
        number = dial.to_number
    # Name or label first: two callers on one number are told apart by it.
    name = invitee.name if invitee else dial_submission.chosen_label(dial.label)
    return f"{name} ({number})" if name else number


def roster_name(user: Viewer, conference: Conference, call_sid: str) -> str:
    """How the roster names the participant on this call ("" when it does not know it)."""
    dial = (
        conference.dials.filter(call_sid=call_sid).select_related("operator_leg__user").first()
        if call_sid
        else None
    )
    if dial is not None:
        link = InviteeDial.objects.filter(dial=dial).select_related("invitee").first()
        return participant_name(user, dial, link.invitee if link else None)
    fact = participant_facts(conference).get(call_sid)
    return fact.label if fact is not None else ""
