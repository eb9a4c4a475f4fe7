"""Browser pages of the notifications app: the parent owner's combined view, the inbox."""

from decimal import Decimal

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from hierarchy.models import KeyResult
from hierarchy.scope import Scope, org_view
from notifications import charts
from notifications.models import Notification, RoundStatus, StepKind, StepState
from notifications.selectors import alignment_kr_queryset, alignment_view
from notifications.services import notification_mark_read, notifications_mark_all_read
from plans.checks import num

SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


def _d(value) -> Decimal:
    return Decimal(value) if value not in (None, "") else Decimal(0)


def _n(value) -> str:
    return "—" if value in (None, "") else num(Decimal(value))


@org_view
def kr_alignment(request, scope: Scope, kr_id: int):
    kr = scope.get(alignment_kr_queryset(), kr_id)
    view = alignment_view(org=scope.org, kr=kr)
    info, aggregate = view["kr"], view["aggregate"]
    labels = [p["label"] for p in view["periods"]]
    targets = charts.period_targets(
        target=_d(info["target"]), own_values=kr.plan.values, periods=len(labels)
    )

    children = [
        {
            **child,
            "cells": [_n(v) for v in child["values"]],
            "target_n": _n(child["target"]),
            "implied_n": _n(child.get("implied_target")),
            "claimed_n": _n(child.get("claimed_impact")),
        }
        for child in view["children"]
    ]
    chart = _chart(info, aggregate, view["children"], labels, targets)

    now = timezone.now()
    rounds = [
        {
            **r,
            "steps": [
                {
                    **s,
                    "label": StepKind(s["step"]).label,
                    "overdue": s["state"] == StepState.OPEN and s["due_at"] < now,
                }
                for s in r["steps"]
            ],
        }
        for r in view["rounds"]
        if r["status"] == RoundStatus.OPEN
    ]
    checks = sorted(view["checks"], key=lambda c: SEVERITY_ORDER.get(c["severity"], 9))
    # charts.py escapes every label it writes (tests/notifications: test_it_escapes_labels).
    chart_svg = mark_safe(chart.svg) if chart else ""  # noqa: S308  # nosec B308 B703
    return render(
        request,
        "notifications/alignment.html",
        {
            "scope": scope,
            "org": scope.org,
            "view": view,
            "kr": info,
            "target_n": _n(info["target"]),
            "total_n": _n(aggregate.get("total")),
            "children": children,
            "periods": labels,
            "aggregate_cells": [_n(v) for v in aggregate["values"]],
            "period_targets": [_n(t) for t in targets],
            "figures": _figures(info, aggregate),
            "checks": checks,
            "rounds": rounds,
            "chart": chart,
            "chart_svg": chart_svg,
        },
    )


def _figures(info: dict, aggregate: dict) -> list[tuple[str, str, str]]:
    """(label, value, css class) of the aggregate against the target."""
    unit = info["unit"]
    pct = aggregate.get("gap_pct")
    short = "bad" if _d(aggregate.get("gap")) > 0 else "ok"
    gap = [
        ("Gap", f"{_n(aggregate.get('gap'))} {unit}", short),
        ("Gap %", f"{pct}%" if pct is not None else "—", short),
    ]
    if info["aggregation"] == "sequential":
        return [
            ("Target", f"{_n(info['target'])} {unit}", ""),
            ("Implied output", f"{_n(aggregate.get('implied_output'))} {unit}", ""),
            *gap,
        ]
    if info["aggregation"] == "parallel":
        short = (
            "bad" if _d(aggregate.get("discounted_claim")) < _d(aggregate.get("needed")) else "ok"
        )
        return [
            ("Raw claim", f"{_n(aggregate.get('raw_claim'))} {unit}", ""),
            ("Discounted claim", f"{_n(aggregate.get('discounted_claim'))} {unit}", short),
            ("Needed", f"{_n(aggregate.get('needed'))} {unit}", ""),
        ]
    figures = [
        ("Target", f"{_n(info['target'])} {unit}", ""),
        ("Total", f"{_n(aggregate.get('total'))} {unit}", ""),
    ]
    return figures + gap if "gap" in aggregate else figures


def _short(label: str, width: int = 26) -> str:
    return label if len(label) <= width else f"{label[: width - 1]}…"


def _chart(info, aggregate, children, labels, targets) -> charts.Chart | None:
    if not children:
        return None
    chart_id = f"kr-{info['id']}-chart"
    if info["aggregation"] == "sequential":
        stages = [
            (
                _short(f"{c.get('stage') or '-'}. {c['title']}"),
                _d(c["target"]),
                _d(c["implied_target"]) if c.get("implied_target") is not None else None,
                "",
            )
            for c in sorted(children, key=lambda c: (c.get("stage") or 0, c["id"]))
        ]
        return charts.funnel_chart(
            chart_id=chart_id,
            title=f"{info['title']}: each stage's target and implied target",
            stages=stages,
        )
    if info["aggregation"] == "parallel":
        return charts.parallel_chart(
            chart_id=chart_id,
            title=f"{info['title']}: claimed impact against the improvement needed",
            unit=info["unit"],
            raw=_d(aggregate.get("raw_claim")),
            discounted=_d(aggregate.get("discounted_claim")),
            needed=_d(aggregate.get("needed")),
        )
    return charts.additive_chart(
        chart_id=chart_id,
        title=f"{info['title']}: contributions per period against the target",
        unit=info["unit"],
        periods=labels,
        series=[(c["department_name"], [_d(v) for v in c["values"]]) for c in children],
        targets=targets,
    )


# --- The inbox ------------------------------------------------------------------

INBOX_PAGE_SIZE = 50


def _inbox_queryset(scope: Scope, user):
    """The caller's notifications in this organization, newest first, each knowing
    whether its KR has children (so the row links to the KR's combined view)."""
    has_children = KeyResult.objects.filter(organization=scope.org, parent_id=OuterRef("kr_id"))
    return (
        Notification.objects.filter(organization=scope.org, user=user)
        .select_related("kr")
        .annotate(kr_has_children=Exists(has_children))
        .order_by("-created_at", "-id")
    )


def _back_to_inbox(request, scope: Scope):
    """Where a plain (no-JS) form goes back to: the inbox page it came from."""
    inbox = reverse("inbox", args=[scope.org.slug])
    target = request.POST.get("next", "")
    if target.startswith(inbox) and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(inbox)


@org_view
def inbox(request, scope: Scope):
    unread_only = request.GET.get("unread") == "1"
    notifications = _inbox_queryset(scope, request.user)
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    page = Paginator(notifications, INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/inbox.html",
        {
            "scope": scope,
            "org": scope.org,
            "page": page,
            "unread_only": unread_only,
            "query_prefix": "unread=1&" if unread_only else "",
        },
    )


@org_view
@require_POST
def inbox_read(request, scope: Scope, notification_id: int):
    """Mark one of the caller's notifications read: the row (and the badge) for htmx,
    a redirect back to the inbox without JS. Another person's id is a 404."""
    notification = scope.get(_inbox_queryset(scope, request.user), notification_id)
    notification_mark_read(notification=notification)
    if request.htmx:
        return render(
            request,
            "notifications/inbox.html#row",
            {"scope": scope, "org": scope.org, "n": notification, "oob": True},
        )
    return _back_to_inbox(request, scope)


@org_view
@require_POST
def inbox_read_all(request, scope: Scope):
    count = notifications_mark_all_read(organization_id=scope.org.pk, user=request.user)
    messages.success(
        request,
        f"Marked {count} notification{'s' if count != 1 else ''} as read."
        if count
        else "Nothing was unread.",
    )
    return _back_to_inbox(request, scope)
