"""Routes of webhook health, metrics, audit trail and reconciliation (issue 12)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
