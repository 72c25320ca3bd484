"""Template context every page needs: the viewer's role and what it may do."""

from __future__ import annotations

from django.http import HttpRequest

from conferences.accounts import roles


def navigation(request: HttpRequest) -> dict[str, object]:
    """What the base layout needs: the user's role and which sections they may open."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"user_role": None}
    return {
        "user_role": roles.role_of(user),
        "can_dial": roles.user_can(user, "dial"),
    }
