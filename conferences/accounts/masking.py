"""Phone numbers are personal data: operators see them masked outside their own dials.

The one home of who sees which number in full. Supervisors see every number; an operator
sees the numbers of the dials they placed and of the invitees they added, but not those
of a dial they placed for someone else's invitee (`numbers_hidden_from_operator`): dialing
a person must not be a way to learn their number. No answer may depend on a number the
viewer may not see, so checks against such numbers compare masked forms (`mask_number`)."""

from __future__ import annotations

import phonenumbers
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q

from conferences.accounts import roles
from conferences.models import DialRequest, Invitee, User

MASK = "•••"
# Create Participant and callback parameters that carry a phone number or address.
NUMBER_PARAMETERS = frozenset({"To", "From", "Called", "Caller", "CallerId", "CallerID"})

Viewer = User | AnonymousUser


def mask_number(number: str) -> str:
    """`+14155551212` -> `+1 415 ••• 1212`; SIP/client addresses keep only their scheme."""
    if not number:
        return ""
    if number.startswith(("sip:", "client:")):
        scheme = number.split(":", 1)[0]
        return f"{scheme}:{MASK}"
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return f"{number[:3]}{MASK}{number[-2:]}" if len(number) > 6 else MASK
    national = str(parsed.national_number)
    # At least three digits stay hidden: a short national number shows less of its ends.
    tail = 4 if len(national) >= 9 else 2
    head = national[: min(3, max(0, len(national) - tail - 3))]
    return " ".join(
        part for part in (f"+{parsed.country_code}", head, MASK, national[-tail:]) if part
    )


def can_see_full_numbers(user: User | AnonymousUser, *, placed_by_id: int | None = None) -> bool:
    if roles.user_can(user, "view_full_numbers"):
        return True
    return placed_by_id is not None and user.is_authenticated and user.pk == placed_by_id


def visible_number(
    user: User | AnonymousUser, number: str, *, placed_by_id: int | None = None
) -> str:
    """The number as this user may see it."""
    if can_see_full_numbers(user, placed_by_id=placed_by_id):
        return number
    return mask_number(number)


def numbers_holder_id(dial: DialRequest) -> int | None:
    """Who sees this dial's numbers besides those who see every number: the operator who
    placed it, unless they dialed an invitee whose number is masked for them."""
    return None if dial.numbers_hidden_from_operator else dial.operator_id


def may_see_dial_numbers(user: Viewer, dial: DialRequest) -> bool:
    return can_see_full_numbers(user, placed_by_id=numbers_holder_id(dial))


def visible_dial_number(user: Viewer, dial: DialRequest, number: str) -> str:
    """One of the dial's numbers (to, from, a parameter) as this user may see it."""
    return visible_number(user, number, placed_by_id=numbers_holder_id(dial))


def dials_with_visible_numbers(user: Viewer) -> Q:
    """The dials whose numbers this user sees in full, as a filter (for number search)."""
    if roles.user_can(user, "view_full_numbers"):
        return Q()
    return Q(operator_id=user.pk, numbers_hidden_from_operator=False)


def may_see_invitee_number(user: Viewer, invitee: Invitee) -> bool:
    """Supervisors, and whoever put the invitee on the list; dialing them grants nothing."""
    return can_see_full_numbers(user, placed_by_id=invitee.added_by_id)


def visible_invitee_number(user: Viewer, invitee: Invitee) -> str:
    return invitee.number if may_see_invitee_number(user, invitee) else mask_number(invitee.number)
