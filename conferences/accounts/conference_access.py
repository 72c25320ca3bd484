"""Who runs a conference: the one rule every way in (dial form, live pages, invite lists,
name suggestions) asks before a user may use, see or act on a conference.

A conference is run by its owner (whoever planned it, or whose dial first named it) and by
the operators a supervisor added to it; a supervisor may use any conference (the role
table's `act_on_any_conference`). Dialing into a conference grants nothing.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet

from conferences.accounts import roles
from conferences.models import Conference, ConferenceOperator, User

Viewer = User | AnonymousUser


def runs_conference(user: Viewer, conference: Conference) -> bool:
    """Owner, or added by a supervisor (roles aside)."""
    if not user.is_authenticated:
        return False
    if conference.created_by_id == user.pk:
        return True
    return ConferenceOperator.objects.filter(conference=conference, user_id=user.pk).exists()


def may_use(user: Viewer, conference: Conference) -> bool:
    """Whether the user may dial into, see and act on this conference."""
    if roles.user_can(user, "act_on_any_conference"):
        return True
    return roles.user_can(user, "act_on_own_conference") and runs_conference(user, conference)


def usable_conferences(user: Viewer) -> QuerySet[Conference]:
    """Every conference the user may use (the same rule as `may_use`, as a query)."""
    conferences = Conference.objects.all()
    if roles.user_can(user, "act_on_any_conference"):
        return conferences
    if not isinstance(user, User) or not roles.user_can(user, "act_on_own_conference"):
        return conferences.none()
    added = ConferenceOperator.objects.filter(user_id=user.pk).values("conference_id")
    return conferences.filter(Q(created_by_id=user.pk) | Q(pk__in=added))


def refusal(conference: Conference) -> str:
    """Why a user who may not use the conference is refused, in words they can act on.
    The owner's name is not said: who runs what is not the refused user's business."""
    return (
        f"A conference named “{conference.friendly_name}” is already running, run by another "
        "operator: ask a supervisor to add you to it, or choose another name."
    )
