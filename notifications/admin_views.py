"""The admin page of the propagation rules (SPEC.md §5): the organization's default
and the per-KR overrides.

Admins only (403 for other members, 404 for outsiders, checked here). The POSTs
are parsed by Django Forms (`RuleForm`, `OverrideForm`) and saved by the same service
as `PUT .../propagation-rules/` and `PUT, DELETE .../krs/{id}/propagation-rule/`
(`rule_set`, which checks the threshold's range), so the page refuses what the API
refuses; errors are shown next to their field.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Exists, OuterRef
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from hierarchy.models import KeyResult
from hierarchy.scope import Scope, org_view
from notifications import selectors, services
from notifications.forms import OverrideForm, RuleForm
from notifications.models import Downward, PropagationRule, Upward
from notifications.rules import Rule
from okrplan.lib.forms import form_add_service_errors
from okrplan.lib.numbers import fmt


def _rule_values(rule: Rule | PropagationRule) -> dict:
    """A rule as its form's initial values."""
    return {
        "upward": rule.upward,
        "threshold_pct": fmt(rule.threshold_pct),
        "downward": rule.downward,
    }


def _describe(rule: Rule | PropagationRule) -> str:
    upward = {
        Upward.NONE: "upward: none",
        Upward.NOTIFY: "upward: notify on every change",
        Upward.THRESHOLD: f"upward: notify past {fmt(rule.threshold_pct)}%",
    }.get(rule.upward, rule.upward)
    return f"{upward}; downward: {Downward(rule.downward).label.lower()}"


def _page(request, scope: Scope, *, status=200, default_form=None, refused=None, add_form=None):
    """Three queries: the default rule, the overrides (with their KRs), the KRs that
    may get one (those with children: their rules govern notices about them).
    `refused`: the form of an override's row that was refused, keyed by the KR's id as
    posted (a string, so that nothing is parsed by hand)."""
    default = selectors.rule_default(org=scope.org)
    overrides = (
        PropagationRule.objects.filter(organization=scope.org, kr__isnull=False)
        .select_related("kr__cycle", "kr__owner")
        .order_by("-kr__cycle__start", "kr__title", "kr_id")
    )
    has_children = KeyResult.objects.filter(organization=scope.org, parent_id=OuterRef("pk"))
    parents = (
        scope.queryset(KeyResult)
        .filter(Exists(has_children))
        .select_related("cycle")
        .order_by("-cycle__start", "cycle_id", "title", "id")
    )
    refused = dict(refused or {})
    overrides = list(overrides)
    for kr_id in set(refused) - {str(rule.kr_id) for rule in overrides}:
        add_form = refused.pop(kr_id)  # a row that is gone: shown on the add form
    return render(
        request,
        "notifications/admin_rules.html",
        {
            "scope": scope,
            "org": scope.org,
            "tab": "rules",
            "default_form": default_form or RuleForm(initial=_rule_values(default)),
            "overrides": [
                {
                    "rule": rule,
                    "kr": rule.kr,
                    "form": refused.get(str(rule.kr_id)) or RuleForm(initial=_rule_values(rule)),
                }
                for rule in overrides
            ],
            "parents": parents,
            "add_form": add_form or OverrideForm(scope=scope, initial=_rule_values(default)),
        },
        status=status,
    )


@org_view
@require_http_methods(["GET", "POST"])
def admin_rules(request, scope: Scope):
    """The page; a POST sets the organization's default rule."""
    scope.require_admin()
    if request.method == "GET":
        return _page(request, scope)
    form = RuleForm(request.POST)
    if form.is_valid():
        try:
            rule = services.rule_set(org=scope.org, kr=None, **form.cleaned_data)
        except DjangoValidationError as error:
            form_add_service_errors(form, error)
    if form.errors:
        return _page(request, scope, status=400, default_form=form)
    messages.success(request, f"Default rule saved: {_describe(rule)}.")
    return redirect("admin-rules", scope.org.slug)


@org_view
@require_POST
def admin_rule_override(request, scope: Scope):
    """Add or change the override of one KR (`kr` in the body, like the API's path)."""
    scope.require_admin()
    form = OverrideForm(request.POST, scope=scope)
    if form.is_valid():
        data = dict(form.cleaned_data)
        kr = data.pop("kr")
        try:
            rule = services.rule_set(org=scope.org, kr=kr, **data)
        except DjangoValidationError as error:
            form_add_service_errors(form, error)
    if form.errors:
        kr_id = form.data.get("kr", "")
        if request.POST.get("source") == "row" and kr_id:
            return _page(request, scope, status=400, refused={kr_id: form})
        return _page(request, scope, status=400, add_form=form)
    messages.success(request, f"Override for “{kr.title}” saved: {_describe(rule)}.")
    return redirect("admin-rules", scope.org.slug)


@org_view
@require_POST
def admin_rule_override_remove(request, scope: Scope, kr_id: int):
    """Remove a KR's override: it follows the organization's default again."""
    scope.require_admin()
    kr = scope.get(KeyResult, kr_id)
    services.rule_clear(org=scope.org, kr=kr)
    messages.success(request, f"“{kr.title}” follows the organization's default rule again.")
    return redirect("admin-rules", scope.org.slug)
