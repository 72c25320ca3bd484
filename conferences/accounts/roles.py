"""The action x role table: who may do what. Written once, here; the README shows it.

Roles are Django groups whose permissions are synced from this table after each
migrate (see `role_groups`), so admins can see them but the table stays the source
of truth. This module imports no models, so the models can use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib.auth.models import AnonymousUser

if TYPE_CHECKING:
    from conferences.models import User

OPERATOR = "operator"
SUPERVISOR = "supervisor"
ROLES = (OPERATOR, SUPERVISOR)


@dataclass(frozen=True)
class Action:
    codename: str
    description: str
    roles: frozenset[str]


ACTIONS: tuple[Action, ...] = (
    Action("dial", "Dial a caller into a conference", frozenset({OPERATOR, SUPERVISOR})),
    Action("bulk_dial", "Dial an invite list", frozenset({OPERATOR, SUPERVISOR})),
    Action("view_own_calls", "See the calls they dialed", frozenset({OPERATOR, SUPERVISOR})),
    Action("view_all_calls", "See every operator's calls", frozenset({SUPERVISOR})),
    Action("view_full_numbers", "See full phone numbers", frozenset({SUPERVISOR})),
    Action("export_history", "Export the call history", frozenset({SUPERVISOR})),
    # Scoped like the history itself: operators hear their own dials, supervisors every one.
    Action(
        "listen_recordings",
        "Listen to the recordings of the calls they may see",
        frozenset({OPERATOR, SUPERVISOR}),
    ),
    # A conference is run by whoever planned it or dialed into it first (its owner) and by
    # the operators a supervisor added; dialing into it grants nothing.
    Action(
        "act_on_own_conference",
        "Dial into, see and act on the conferences they run (own or were added to)",
        frozenset({OPERATOR, SUPERVISOR}),
    ),
    Action(
        "act_on_any_conference",
        "Dial into, see and act on any conference",
        frozenset({SUPERVISOR}),
    ),
    Action("end_conference", "End a conference for everyone", frozenset({SUPERVISOR})),
    Action(
        "add_conference_operators",
        "Add operators to a conference, or take them off it",
        frozenset({SUPERVISOR}),
    ),
    # Issue 21: the planner owns the event's conference, so the rules above decide the rest.
    Action(
        "plan_events",
        "Plan, edit and cancel scheduled conferences that dial their invite list at the start",
        frozenset({OPERATOR, SUPERVISOR}),
    ),
    Action("manage_own_presets", "Save their own dial presets", frozenset({OPERATOR, SUPERVISOR})),
    Action("manage_shared_presets", "Manage shared dial presets", frozenset({SUPERVISOR})),
    Action("view_webhook_health", "View webhook health", frozenset({SUPERVISOR})),
    Action("reconcile", "Reconcile a call or conference with Twilio", frozenset({SUPERVISOR})),
    Action("view_audit_trail", "See the audit trail", frozenset({SUPERVISOR})),
)
ACTIONS_BY_CODENAME = {action.codename: action for action in ACTIONS}

# Permissions live on DialRequest (the app's central record); see its Meta.
PERMISSION_APP_LABEL = "conferences"
PERMISSION_MODEL = "dialrequest"


def permission_name(codename: str) -> str:
    """The string for user.has_perm()."""
    if codename not in ACTIONS_BY_CODENAME:
        raise KeyError(f"{codename!r} is not in the action x role table")
    return f"{PERMISSION_APP_LABEL}.{codename}"


def user_can(user: User | AnonymousUser, codename: str) -> bool:
    return bool(user.is_authenticated and user.has_perm(permission_name(codename)))


def role_of(user: User | AnonymousUser) -> str | None:
    """The user's highest role, for display."""
    if not user.is_authenticated:
        return None
    names = set(user.groups.values_list("name", flat=True))
    for role in (SUPERVISOR, OPERATOR):
        if role in names:
            return role
    return None


def markdown_table() -> str:
    """The table as the README shows it (a test keeps the README in step)."""
    lines = ["| action | operator | supervisor |", "| --- | --- | --- |"]
    for action in ACTIONS:
        marks = ["yes" if role in action.roles else "no" for role in ROLES]
        lines.append(f"| {action.description} (`{action.codename}`) | {marks[0]} | {marks[1]} |")
    return "\n".join(lines)
