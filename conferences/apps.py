from __future__ import annotations

from django.apps import AppConfig


class ConferencesConfig(AppConfig):
    name = "conferences"
    verbose_name = "Conferences"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from conferences import heartbeat, roles

        # The role table in code is the single source of truth: every migrate brings the
        # groups' permissions in line with it.
        post_migrate.connect(roles.sync_role_groups, sender=self)
        heartbeat.connect_worker_signals()
