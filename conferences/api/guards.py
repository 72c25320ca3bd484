"""Who is calling and what their role allows: the token's user and the action x role table,
answered in the API's error shape."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from conferences.accounts import roles
from conferences.api.errors import ApiError
from conferences.models import User


def api_user(request: HttpRequest) -> User:
    """The token's user; TokenAuth put it on the request before any operation runs."""
    user = request.user
    if not isinstance(user, User):
        raise ApiError(401, "unauthorized", "Send a personal API token as a Bearer token.")
    return user


def require(user: User, codename: str, what: str) -> None:
    """ApiError 403 unless the table gives the user's role `codename`."""
    if not roles.user_can(user, codename):
        raise ApiError(403, "forbidden", f"Your role cannot {what}.")


def refused(error: Exception) -> ApiError:
    """A service's refusal: 403 for a permission, 409 for a state that does not allow it."""
    if isinstance(error, PermissionDenied):
        return ApiError(403, "forbidden", str(error) or "Your role cannot do that here.")
    return ApiError(409, "refused", str(error))
