"""Users with known passwords and roles, made the way the app makes them."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group

from conferences.accounts import role_groups
from conferences.models import User

# Every user made here has this password, so a browser test can sign in as any of them.
PASSWORD = "correct horse battery staple 42"


def make_user(username: str, role: str | None, *, is_staff: bool = False, **extra: Any) -> User:
    role_groups.sync_role_groups()
    user = User.objects.create_user(
        username=username, password=PASSWORD, is_staff=is_staff, **extra
    )
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user
