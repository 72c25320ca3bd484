"""Routes of webhook health, metrics, audit trail and reconciliation (issue 12)."""

from __future__ import annotations

from django.urls import URLPattern, path

from conferences.operations import views as ops_views

urlpatterns: list[URLPattern] = [
    path("ops/webhooks/", ops_views.webhook_health, name="webhook-health"),
    path("ops/webhooks/self-test", ops_views.run_webhook_self_test, name="webhook-self-test-run"),
    path("ops/audit/", ops_views.audit_trail, name="audit-trail"),
    path("ops/reconcile/<str:target>/<int:pk>", ops_views.reconcile_now, name="reconcile"),
    path("metrics", ops_views.prometheus_metrics, name="metrics"),
    # Beside Twilio's callback URLs (/webhooks/twilio/<kind>/<dial id>), so the self-test
    # crosses the same proxy routes; a nonce that is never a number keeps them apart.
    path(
        "webhooks/twilio/self-test/<str:nonce>",
        ops_views.webhook_self_test,
        name="webhook-self-test",
    ),
]
