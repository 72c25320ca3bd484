"""Operations pages (issue 12): webhook health and its self-test, the audit trail,
"reconcile now", and the Prometheus /metrics endpoint."""

from __future__ import annotations

import hmac
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, permission_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from conferences.accounts import masking
from conferences.audit import trail as audit
from conferences.callbacks import reading
from conferences.callbacks import views as webhooks
from conferences.core import inputs
from conferences.core.htmx import HtmxHttpRequest, vary_on_htmx, wants_fragment
from conferences.models import AuditEntry, Conference, DialRequest
from conferences.operations import prometheus, reconcile, self_test
from conferences.operations import webhook_health as webhook_health_reads

HEALTH_PAGE = "conferences/ops/webhook_health.html"
AUDIT_PAGE = "conferences/ops/audit.html"
RECONCILE_BUTTON = "conferences/ops/_reconcile_button.html"
AUDIT_PAGE_SIZE = 50


def _health_context(**extra: Any) -> dict[str, Any]:
    return {"public_base_url": settings.PUBLIC_BASE_URL, **extra}


# --- Webhook health and the self-test -------------------------------------------------


@require_GET
@permission_required("conferences.view_webhook_health", raise_exception=True)
def webhook_health(request: HtmxHttpRequest) -> HttpResponse:
    """Are callbacks flowing, and if not, why: per kind and hour, and in words."""
    health = webhook_health_reads.webhook_health()
    template = f"{HEALTH_PAGE}#health" if wants_fragment(request) else HEALTH_PAGE
    return vary_on_htmx(render(request, template, _health_context(health=health)))


@require_POST
@permission_required("conferences.view_webhook_health", raise_exception=True)
def run_webhook_self_test(request: HtmxHttpRequest) -> HttpResponse:
    """Send a signed test callback through PUBLIC_BASE_URL and show what came of it."""
    result = self_test.run_self_test(actor=request.user)
    if wants_fragment(request):
        template = f"{HEALTH_PAGE}#self-test"
        return vary_on_htmx(render(request, template, {"self_test": result}))
    context = _health_context(health=webhook_health_reads.webhook_health(), self_test=result)
    return vary_on_htmx(render(request, HEALTH_PAGE, context))


@csrf_exempt  # signed like Twilio's callbacks; the signature stands in for a CSRF token
@login_not_required
@require_POST
def webhook_self_test(request: HttpRequest, nonce: str) -> HttpResponse:
    """The self-test's own callback: verified like the real ones, its arrival noted."""
    params = webhooks.callback_params(request)
    account_sid = reading.param_value(params, "AccountSid")
    signature = request.headers.get(webhooks.SIGNATURE_HEADER, "")
    verified = bool(
        signature
        and account_sid
        and webhooks.signature_problem(request, account_sid, signature) is None
    )
    arrived = self_test.record_self_test_arrival(
        nonce, verified=verified, checked_urls=webhooks.public_urls(request)
    )
    if not arrived:
        raise Http404("No self-test is waiting for this callback")
    return HttpResponse(status=204 if verified else 403)


# --- Prometheus -----------------------------------------------------------------------


@login_not_required
@never_cache
@require_GET
def prometheus_metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics; needs `Authorization: Bearer <METRICS_TOKEN>` (404 when unset)."""
    token = str(settings.METRICS_TOKEN)
    if not token:
        raise Http404("Metrics are off: METRICS_TOKEN is not set")
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    return HttpResponse(
        prometheus.prometheus_text(), content_type="text/plain; version=0.0.4; charset=utf-8"
    )


# --- Audit trail ----------------------------------------------------------------------


class AuditFilterForm(forms.Form):
    actor = forms.TypedChoiceField(label="Operator", required=False, coerce=int, empty_value=None)
    conference = forms.CharField(
        label="Conference", required=False, max_length=128, help_text="Id or part of the name"
    )
    action = forms.ChoiceField(label="Action", required=False)
    date_from = inputs.DayField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = inputs.DayField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        actor = self.fields["actor"]
        action = self.fields["action"]
        assert isinstance(actor, forms.ChoiceField)  # noqa: S101 -- declared above
        assert isinstance(action, forms.ChoiceField)  # noqa: S101 -- declared above
        actor.choices = [("", "Anyone"), *((u.pk, u.get_username()) for u in audit.actors())]
        action.choices = [("", "Any action"), *((n, n) for n in audit.AuditAction.names())]

    def filters(self) -> audit.AuditFilters:
        data = self.cleaned_data if self.is_valid() else {}
        return audit.AuditFilters(
            actor_id=data.get("actor"),
            conference=data.get("conference") or "",
            action=data.get("action") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )


@require_GET
@permission_required("conferences.view_audit_trail", raise_exception=True)
def audit_trail(request: HtmxHttpRequest) -> HttpResponse:
    """Who did what to which call, filtered by operator, conference, action and date."""
    form = AuditFilterForm(request.GET or None)
    entries = audit.filtered_entries(form.filters(), zone=timezone.get_current_timezone())
    page = Paginator(entries, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [_audit_row(request, entry) for entry in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "rows": rows, "query": query.urlencode()}
    template = f"{AUDIT_PAGE}#results" if wants_fragment(request) else AUDIT_PAGE
    return vary_on_htmx(render(request, template, context))


def _audit_row(request: HttpRequest, entry: AuditEntry) -> dict[str, Any]:
    """An entry as the page shows it: the dial's number masked for this viewer."""
    number = ""
    if entry.dial is not None:
        number = masking.visible_dial_number(request.user, entry.dial, entry.dial.to_number)
    detail = [(key, _words(value)) for key, value in sorted(entry.detail.items())]
    return {"entry": entry, "number": number, "detail": detail}


def _words(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_words(item) for item in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{key}: {_words(item)}" for key, item in value.items()) or "—"
    return "—" if value in ("", None) else str(value)


# --- Reconcile now --------------------------------------------------------------------


def _reconcilable(target: str, pk: int) -> bool:
    if target == "dial":
        return DialRequest.objects.filter(pk=pk).exists()
    if target == "conference":
        return Conference.objects.filter(pk=pk).exists()
    return False


@require_POST
@permission_required("conferences.reconcile", raise_exception=True)
def reconcile_now(request: HtmxHttpRequest, target: str, pk: int) -> HttpResponse:
    """Ask Twilio about one call or conference now; the answer lands on its timeline."""
    if not _reconcilable(target, pk):
        raise Http404("Nothing to reconcile")
    result = reconcile.reconcile_on_request(actor=request.user, target=target, pk=pk)
    if wants_fragment(request):
        context = {"target": target, "pk": pk, "reconcile_result": result}
        response = render(request, f"{RECONCILE_BUTTON}#result", context)
        # Pages refresh what they show of the record when this event fires.
        response["HX-Trigger"] = f"{target}-reconciled"
        return vary_on_htmx(response)
    (messages.success if result.ok else messages.error)(request, result.summary)
    next_url = request.POST.get("next", "")
    # Only a path of this site: anything else `redirect` would try to read as a view's name.
    if not next_url.startswith("/") or not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("conferences:history")
    return vary_on_htmx(redirect(next_url))
