"""Create the demo operator and supervisor, printing each password once."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from conferences.accounts import role_groups, roles
from conferences.models import User

DEMO_USERS = (("operator", roles.OPERATOR, False), ("supervisor", roles.SUPERVISOR, True))


class Command(BaseCommand):
    help = "Create a demo operator and a demo supervisor when they don't exist yet."

    def handle(self, *args: Any, **options: Any) -> None:
        role_groups.sync_role_groups()
        for username, role, is_staff in DEMO_USERS:
            if User.objects.filter(username=username).exists():
                self.stdout.write(f"  {username}: exists (password unchanged)")
                continue
            password = secrets.token_urlsafe(12)
            user = User.objects.create_user(username=username, password=password)
            user.is_staff = is_staff
            user.save(update_fields=["is_staff"])
            user.groups.add(Group.objects.get(name=role))
            self.stdout.write(
                # Only now: the password is kept nowhere but in its hash.
                self.style.SUCCESS(f"  {username}: created, password {password}  (note it)")
            )
