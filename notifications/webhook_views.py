"""The admin pages of the outgoing webhooks (API.md §Outgoing webhooks): the list with
the form that adds one (its secret shown in that answer only), a webhook's delivery log,
and its removal.

Admins only (403 for other members, 404 for outsiders, checked here). The form is a
Django Form (notifications/forms.py); the same services as the API validate the rest (a
private address, the events), and their errors are shown next to the field they name.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Max, Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from hierarchy.scope import Scope, org_view
from notifications import webhooks
from notifications.forms import WebhookForm
from notifications.models import DeliveryStatus, Webhook, WebhookDelivery
from okrplan.lib.forms import form_add_service_errors

DELIVERIES_PAGE_SIZE = 50


def _hooks(scope: Scope) -> list[Webhook]:
    """The organization's webhooks with their delivery counts, in one query."""
    return list(
        scope.queryset(Webhook)
        .annotate(
            pending=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.PENDING)),
            failed=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
            delivered=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.DELIVERED)),
            last_event_at=Max("deliveries__created_at"),
        )
        .order_by("created_at", "id")
    )


def _page(request, scope: Scope, *, form=None, created=None, status=200):
    return render(
        request,
        "notifications/admin_webhooks.html",
        {
            "scope": scope,
            "org": scope.org,
            "tab": "webhooks",
            "hooks": _hooks(scope),
            "form": form or WebhookForm(),
            "created": created,
        },
        status=status,
    )


@org_view
@require_http_methods(["GET", "POST"])
def admin_webhooks(request, scope: Scope):
    """The list; a POST adds a webhook and answers with its secret (200: the secret is
    in this answer only, so there is nothing to redirect to)."""
    scope.require_admin()
    if request.method == "GET":
        return _page(request, scope)
    form = WebhookForm(request.POST)
    if form.is_valid():
        try:
            created = webhooks.webhook_create(
                org=scope.org, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            return _page(request, scope, created=created)
    return _page(request, scope, form=form, status=400)


@org_view
@require_GET
def admin_webhook(request, scope: Scope, webhook_id: int):
    """A webhook's delivery log, newest first."""
    scope.require_admin()
    hook = scope.get(Webhook, webhook_id)
    deliveries = (
        scope.queryset(WebhookDelivery)
        .filter(webhook=hook)
        .defer("body")
        .order_by("-created_at", "-id")
    )
    page = Paginator(deliveries, DELIVERIES_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/admin_webhook.html",
        {
            "scope": scope,
            "org": scope.org,
            "tab": "webhooks",
            "hook": hook,
            "page": page,
        },
    )


@org_view
@require_POST
def admin_webhook_delete(request, scope: Scope, webhook_id: int):
    scope.require_admin()
    hook = scope.get(Webhook, webhook_id)
    webhooks.webhook_delete(webhook=hook)
    messages.success(request, f"The webhook to {hook.url} is removed, with its delivery log.")
    if request.htmx:  # the list again, with its message
        return HttpResponseClientRedirect(reverse("admin-webhooks", args=[scope.org.slug]))
    return redirect("admin-webhooks", scope.org.slug)
