"""Phone numbers are personal data: operators see them masked outside their own dials."""

from __future__ import annotations

import phonenumbers
from django.contrib.auth.models import AnonymousUser

from conferences.accounts import roles
from conferences.models import User

MASK = "•••"


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
