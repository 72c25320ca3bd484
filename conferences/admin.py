from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest

from conferences.accounts import roles
from conferences.models import (
    AuditEntry,
    CallbackTally,
    DialPreset,
    RelayAllowedHost,
    RelayDelivery,
    TwilioAccount,
    User,
    WebhookRejection,
)

# --- Webhook rejections and relays (issue 8) ------------------------------------------


class SupervisorsManage(admin.ModelAdmin):
    """Open to supervisors (their role, not per-model permissions) and superusers."""

    def _is_supervisor(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(
            user.is_active and (user.is_superuser or roles.role_of(user) == roles.SUPERVISOR)
        )

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._is_supervisor(request)

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return self._is_supervisor(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._is_supervisor(request)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return self._is_supervisor(request)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return self._is_supervisor(request)


@admin.register(RelayAllowedHost)
class RelayAllowedHostAdmin(SupervisorsManage):
    list_display = ("host", "port", "active", "note", "created_by", "created_at")
    list_filter = ("active",)
    search_fields = ("host", "note")
    readonly_fields = ("created_by", "created_at")

    def save_model(
        self, request: HttpRequest, obj: RelayAllowedHost, form: Any, change: bool
    ) -> None:
        if not change and request.user.is_authenticated:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


class ReadOnly(SupervisorsManage):
    """Records the app writes itself: supervisors may look, nobody edits."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(RelayDelivery)
class RelayDeliveryAdmin(ReadOnly):
    list_display = (
        "event",
        "url",
        "method",
        "status",
        "attempts",
        "last_status_code",
        "created_at",
    )
    list_filter = ("status",)
    search_fields = ("url",)


@admin.register(WebhookRejection)
class WebhookRejectionAdmin(ReadOnly):
    list_display = ("hour", "kind", "reason", "count", "last_at")
    list_filter = ("kind", "reason")
    date_hierarchy = "hour"


# --- Audit trail and webhook tallies (issue 12) ---------------------------------------


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnly):
    """Read-only for everyone, superusers included: the trail is append-only."""

    list_display = ("at", "actor", "action", "target_type", "target_id", "outcome")
    list_filter = ("action", "outcome")
    search_fields = ("action", "target_id", "actor__username")
    date_hierarchy = "at"
    list_select_related = ("actor",)
    actions = None  # not even the bulk delete a read-only admin would hide anyway

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [field.name for field in AuditEntry._meta.fields]


@admin.register(CallbackTally)
class CallbackTallyAdmin(ReadOnly):
    list_display = ("hour", "kind", "measure", "count", "last_at")
    list_filter = ("kind", "measure")
    date_hierarchy = "hour"


# --- Users, Twilio accounts and shared presets (issue 20) -----------------------------


@admin.register(User)
class UserAdmin(SupervisorsManage, BaseUserAdmin):
    """Supervisors manage users: their role (group), their time zone, whether they may sign
    in. Only a superuser grants superuser or single permissions, or edits a superuser."""

    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        ("Preferences", {"fields": ("time_zone",)}),
    )
    list_display = ("username", "email", "role_name", "is_staff", "is_active", "time_zone")
    list_filter = ("groups", "is_staff", "is_active")

    @admin.display(description="role")
    def role_name(self, user: User) -> str:
        return roles.role_of(user) or "—"

    def get_readonly_fields(
        self, request: HttpRequest, obj: object = None
    ) -> list[str] | tuple[str, ...]:
        if getattr(request.user, "is_superuser", False):
            return ()
        return ("is_superuser", "user_permissions", "last_login", "date_joined")

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        if isinstance(obj, User) and obj.is_superuser:
            return bool(getattr(request.user, "is_superuser", False))
        return self._is_supervisor(request)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # Users are deactivated, never deleted: their dials and audit entries name them.
        return bool(getattr(request.user, "is_superuser", False))


@admin.register(TwilioAccount)
class TwilioAccountAdmin(SupervisorsManage):
    """Calls per second and caller IDs per account; the secrets are never shown here."""

    list_display = ("name", "account_sid", "calls_per_second", "is_default")
    fields = ("name", "account_sid", "calls_per_second", "caller_ids", "is_default")
    readonly_fields = ("account_sid", "is_default")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # an account comes with its tokens, from the settings

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # its dials point at it


@admin.register(DialPreset)
class DialPresetAdmin(SupervisorsManage):
    """Shared presets (no owner): the dial page offers them to everyone."""

    list_display = ("name", "owner", "updated_at")
    list_filter = (("owner", admin.EmptyFieldListFilter),)
    search_fields = ("name",)
    fields = ("name", "owner", "values")
