from __future__ import annotations

from django.apps import AppConfig


class ConferencesConfig(AppConfig):
    name = "conferences"
    verbose_name = "Conferences"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_migrate, post_save

        from conferences import accounts, heartbeat, roles
        from conferences.models import TwilioAccount

        # The role table in code is the single source of truth: every migrate brings the
        # groups' permissions in line with it.
        post_migrate.connect(roles.sync_role_groups, sender=self)
        heartbeat.connect_worker_signals()
        # A changed account (a rotated token) takes effect at once in this process.
        for signal in (post_save, post_delete):
            signal.connect(
                accounts.forget_signing_tokens_on_change,
                sender=TwilioAccount,
                dispatch_uid=f"forget-signing-tokens-{signal}",
            )
