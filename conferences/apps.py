from __future__ import annotations

from django.apps import AppConfig


class ConferencesConfig(AppConfig):
    name = "conferences"
    verbose_name = "Conferences"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import importlib

        from django.db.models.signals import post_delete, post_migrate, post_save

        from conferences.accounts import role_groups, twilio_accounts
        from conferences.core import database_checks  # noqa: F401 -- registers the check
        from conferences.core.task_queue import TASK_PACKAGES
        from conferences.models import TwilioAccount
        from conferences.operations import heartbeat

        # The role table in code is the single source of truth: every migrate brings the
        # groups' permissions in line with it.
        # Every task registered in every process, so services can enqueue by pinned name.
        for package in TASK_PACKAGES:
            importlib.import_module(f"{package}.tasks")
        post_migrate.connect(role_groups.sync_role_groups, sender=self)
        heartbeat.connect_worker_signals()
        # A changed account (a rotated token) takes effect at once in this process.
        for signal in (post_save, post_delete):
            signal.connect(
                twilio_accounts.forget_signing_tokens_on_change,
                sender=TwilioAccount,
                dispatch_uid=f"forget-signing-tokens-{signal}",
            )
