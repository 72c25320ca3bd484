from __future__ import annotations

from django import template

from conferences.accounts import masking
from conferences.core.words import ANSWERED_BY_WORDS, CONFERENCE_END_WORDS, LEAVE_REASON_WORDS
from conferences.dialing.submission import chosen_label as _chosen_label
from conferences.models import FINAL_DIAL_STATUSES, DialRequest, DialStatus, User

register = template.Library()


@register.filter
def as_values(value: object) -> list[str]:
    """A field's value as the list of strings a form submits for it (empty: none)."""
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple):
        return [str(item) for item in value if item not in (None, "")]
    return [str(value)]


@register.filter
def to_number_for(dial: DialRequest, user: User) -> str:
    """The number a dial called, as this user may see it."""
    return masking.visible_dial_number(user, dial, dial.to_number)


@register.filter
def answered_by_words(value: str) -> str:
    """Twilio's AnsweredBy in words ("a person"), the raw value when it is a new one."""
    return ANSWERED_BY_WORDS.get(value, value)


@register.filter
def leave_reason_words(value: str) -> str:
    """Why a participant left, in words."""
    return LEAVE_REASON_WORDS.get(value, value.replace("_", " "))


@register.filter
def conference_end_words(value: str) -> str:
    """Why a conference ended, in words."""
    return CONFERENCE_END_WORDS.get(value, value.replace("-", " "))


# A call Twilio has (a SID) and that has not ended: hanging up removes it from the conference.
HANG_UP_STATUSES = frozenset(
    {DialStatus.QUEUED, DialStatus.INITIATED, DialStatus.RINGING, DialStatus.IN_PROGRESS}
)


@register.filter
def chosen_label(label: str) -> str:
    """A dial's label when the operator chose it; "" when the app made it up."""
    return _chosen_label(label)


@register.filter
def can_hang_up(dial: DialRequest) -> bool:
    return bool(dial.call_sid) and dial.status in HANG_UP_STATUSES


@register.filter
def can_redial(dial: DialRequest) -> bool:
    return dial.status in FINAL_DIAL_STATUSES
