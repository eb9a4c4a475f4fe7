"""The admin page of the propagation rules (SPEC.md §5): the organization's default
and the per-KR overrides.

Admins only (403 for other members, 404 for outsiders, checked here). The POSTs
are parsed by the API's `RuleSerializer` and saved by the same services as
`PUT .../propagation-rules/` and `PUT, DELETE .../krs/{id}/propagation-rule/`, so
the page refuses what the API refuses; errors are shown next to their field.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Exists, OuterRef
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework.exceptions import ValidationError as DrfValidationError

from hierarchy.fields import OrgRelatedField
from hierarchy.models import KeyResult
from hierarchy.scope import Scope, org_view
from notifications import selectors, services
from notifications.apis import RuleSerializer
from notifications.models import Downward, PropagationRule, Upward
from notifications.rules import Rule
from okrplan.lib.forms import form_data, form_errors, validated
from okrplan.lib.numbers import fmt

INVALID = (DrfValidationError, DjangoValidationError)
RULE_FIELDS = ["upward", "threshold_pct", "downward"]


class OverrideInputSerializer(RuleSerializer):
    """The API's rule, plus the KR it overrides (an id of this organization)."""

    kr = OrgRelatedField(KeyResult)


def _rule_values(rule: Rule | PropagationRule) -> dict:
    return {
        "upward": rule.upward,
        "threshold_pct": fmt(rule.threshold_pct),
        "downward": rule.downward,
    }


def _rule_data(post) -> dict:
    """The rule fields of a POST; a blank threshold is not sent (the stored one stays),
    exactly like a PUT without `threshold_pct`."""
    values = form_data(post, [*RULE_FIELDS, "kr"], optional=("threshold_pct",))
    if values.get("threshold_pct") is None:
        values.pop("threshold_pct", None)
    return values


def _describe(rule: Rule | PropagationRule) -> str:
    upward = {
        Upward.NONE: "upward: none",
        Upward.NOTIFY: "upward: notify on every change",
        Upward.THRESHOLD: f"upward: notify past {fmt(rule.threshold_pct)}%",
    }.get(rule.upward, rule.upward)
    return f"{upward}; downward: {Downward(rule.downward).label.lower()}"


def _page(
    request,
    scope: Scope,
    *,
    status=200,
    default_values=None,
    default_errors=None,
    row_errors=None,
    row_values=None,
    add_values=None,
    add_errors=None,
):
    """Three queries: the default rule, the overrides (with their KRs), the KRs that
    may get one (those with children: their rules govern notices about them)."""
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
    # keyed by the KR's id as posted (a string), so that nothing is parsed by hand
    row_errors, row_values = row_errors or {}, row_values or {}
    overrides = list(overrides)
    shown_rows = {str(rule.kr_id) for rule in overrides}
    for kr_id in set(row_errors) - shown_rows:  # a row that is gone: show it on the add form
        add_errors, add_values = row_errors.pop(kr_id), row_values.pop(kr_id, add_values)
    return render(
        request,
        "notifications/admin_rules.html",
        {
            "scope": scope,
            "org": scope.org,
            "tab": "rules",
            "upward_choices": Upward.choices,
            "downward_choices": Downward.choices,
            "default": default_values or _rule_values(default),
            "default_errors": default_errors or {},
            "overrides": [
                {
                    "rule": rule,
                    "kr": rule.kr,
                    "values": row_values.get(str(rule.kr_id)) or _rule_values(rule),
                    "errors": row_errors.get(str(rule.kr_id), {}),
                }
                for rule in overrides
            ],
            "parents": parents,
            "add": add_values or _rule_values(default),
            "add_errors": add_errors or {},
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
    values = _rule_data(request.POST)
    values.pop("kr", None)
    try:
        rule = services.rule_set(org=scope.org, kr=None, **validated(RuleSerializer(data=values)))
    except INVALID as error:
        shown = {**_rule_values(Rule()), **values}
        return _page(
            request, scope, status=400, default_values=shown, default_errors=form_errors(error)
        )
    messages.success(request, f"Default rule saved: {_describe(rule)}.")
    return redirect("admin-rules", scope.org.slug)


@org_view
@require_POST
def admin_rule_override(request, scope: Scope):
    """Add or change the override of one KR (`kr` in the body, like the API's path)."""
    scope.require_admin()
    values = _rule_data(request.POST)
    from_row = request.POST.get("source") == "row"
    try:
        data = validated(OverrideInputSerializer(data=values, context={"org": scope.org}))
        kr = data.pop("kr")
        rule = services.rule_set(org=scope.org, kr=kr, **data)
    except INVALID as error:
        errors = form_errors(error)
        shown = {**_rule_values(Rule()), **values}
        kr_id = values.get("kr")
        if from_row and kr_id:
            return _page(
                request,
                scope,
                status=400,
                row_errors={kr_id: errors},
                row_values={kr_id: shown},
            )
        return _page(request, scope, status=400, add_values=shown, add_errors=errors)
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
