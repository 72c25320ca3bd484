"""The operator and supervisor Django groups, kept in line with the role table."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType

from conferences.accounts.roles import ACTIONS, ROLES
from conferences.models import DialRequest


def sync_role_groups(**_: Any) -> None:
    """Make the operator and supervisor groups hold exactly the permissions in ACTIONS."""
    content_type = ContentType.objects.get_for_model(DialRequest)
    for action in ACTIONS:
        Permission.objects.update_or_create(
            content_type=content_type,
            codename=action.codename,
            defaults={"name": action.description},
        )
    for role in ROLES:
        group, _created = Group.objects.get_or_create(name=role)
        wanted = [a.codename for a in ACTIONS if role in a.roles]
        group.permissions.set(
            Permission.objects.filter(content_type=content_type, codename__in=wanted)
        )
