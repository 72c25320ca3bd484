"""Who runs a conference, as the page shows it, and the supervisors' way to add an
operator to a conference someone else runs (or take them off it again)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from conferences.accounts import roles
from conferences.audit import trail as audit
from conferences.audit.trail import AuditAction
from conferences.live.actions import Actor, LiveActionRefused, _require
from conferences.models import Conference, ConferenceOperator, User


@dataclass(frozen=True)
class RunBy:
    owner: User | None
    added: list[ConferenceOperator]


def run_by(conference: Conference) -> RunBy:
    added = list(
        ConferenceOperator.objects.filter(conference=conference)
        .select_related("user", "added_by")
        .order_by("added_at", "pk")
    )
    return RunBy(owner=conference.created_by, added=added)


def addable_operators(conference: Conference) -> QuerySet[User]:
    """Active operators who do not run the conference yet (supervisors run every one)."""
    added = ConferenceOperator.objects.filter(conference=conference).values("user_id")
    return (
        User.objects.filter(is_active=True, groups__name=roles.OPERATOR)
        .exclude(groups__name=roles.SUPERVISOR)
        .exclude(pk__in=added)
        .exclude(pk=conference.created_by_id or 0)
        .order_by("username")
        .distinct()
    )


def add_operator(*, user: Actor, conference: Conference, operator: User) -> ConferenceOperator:
    _require(roles.user_can(user, "add_conference_operators"), "add operators")
    if not addable_operators(conference).filter(pk=operator.pk).exists():
        raise LiveActionRefused(f"{operator} already runs this conference or is no operator.")
    try:
        with transaction.atomic():
            grant = ConferenceOperator.objects.create(
                conference=conference,
                user=operator,
                added_by=user if isinstance(user, User) else None,
            )
    except IntegrityError:
        raise LiveActionRefused(f"{operator} already runs this conference.") from None
    audit.record(
        AuditAction.ADD_OPERATOR,
        actor=user,
        conference=conference,
        target_type="user",
        target_id=operator.pk,
        detail={"operator": operator.username},
    )
    return grant


def remove_operator(*, user: Actor, conference: Conference, operator_id: int) -> str:
    """Take an added operator off the conference; their name, for the message."""
    _require(roles.user_can(user, "add_conference_operators"), "take operators off")
    grant = (
        ConferenceOperator.objects.filter(conference=conference, user_id=operator_id)
        .select_related("user")
        .first()
    )
    if grant is None:
        raise LiveActionRefused("That operator was not added to this conference.")
    name = grant.user.username
    grant.delete()
    audit.record(
        AuditAction.REMOVE_OPERATOR,
        actor=user,
        conference=conference,
        target_type="user",
        target_id=operator_id,
        detail={"operator": name},
    )
    return name
