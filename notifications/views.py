"""Browser pages of the notifications app: the parent owner's combined view, the inbox."""

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Q
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from hierarchy.models import KeyResult
from hierarchy.permissions import kr_require_edit
from hierarchy.scope import Scope, org_view
from notifications import charts
from notifications.models import Answer, Notification, RoundStatus, Step, StepKind, StepState
from notifications.selectors import alignment_kr_queryset, alignment_view
from notifications.selectors import plan_preview_of as preview_selector
from notifications.services import (
    notification_mark_read,
    notifications_mark_all_read,
    step_answer,
)
from okrplan.lib.fragments import fragment_response
from plans.checks import num
from plans.forms import PlanForm, parse_values
from plans.selectors import kr_progress, kr_queryset
from plans.services import validate_plan_values
from plans.views import STATUS_LABELS

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
            # charts.py escapes every label it writes (tests/notifications: test_it_escapes_labels).
            "chart_svg": mark_safe(chart.svg) if chart else "",  # noqa: S308
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


# --- The plan editor's live impact preview ------------------------------------------


def _preview_figures(
    info: dict, before: dict, after: dict, after_codes: set[str]
) -> list[tuple[str, str, str, str]]:
    """(label, before, after, tone) of the shared KR, from the preview's figures."""
    unit = info["unit"]
    if info["aggregation"] == "parallel":
        short = "bad" if _d(after.get("discounted_claim")) < _d(after.get("needed")) else "ok"
        return [
            ("Raw claim", *[f"{_n(after.get('raw_claim'))} {unit}"] * 2, ""),
            ("Discounted claim", *[f"{_n(after.get('discounted_claim'))} {unit}"] * 2, short),
            ("Needed", *[f"{_n(after.get('needed'))} {unit}"] * 2, ""),
        ]
    total_label = "Implied output" if info["aggregation"] == "sequential" else "Total"
    after_total = after.get("total")
    figures = [
        ("Target", *[f"{_n(info['target'])} {unit}"] * 2, ""),
        (total_label, f"{_n(before.get('total'))} {unit}", f"{_n(after_total)} {unit}", ""),
    ]
    if "gap" in after:
        tone = "bad" if "aggregate_gap" in after_codes else "ok"  # short or over: a check

        def gap(figures: dict) -> str:
            pct = figures.get("gap_pct")
            return f"{_n(figures.get('gap'))} {unit}" + (f" ({pct}%)" if pct is not None else "")

        figures.append(("Gap", gap(before), gap(after), tone))
    return figures


@org_view
@require_POST
def plan_preview_page(request, scope: Scope, kr_id: int):
    """The plan editor's impact fragment: the same computation as the API's
    `POST .../plan/preview/` over the typed values; nothing written."""
    kr = scope.get(alignment_kr_queryset(), kr_id)
    kr_require_edit(scope, kr)
    form = PlanForm.of_post(kr, request.POST)
    context = {"scope": scope, "org": scope.org, "kr": kr}
    template = "plans/plan_editor.html#preview"
    if form.version != kr.plan.version:
        context["preview_error"] = (
            f"The plan was saved by someone else since you opened it (now version "
            f"{kr.plan.version}): reload the page to preview against the current plan."
        )
        return fragment_response(template, context)
    try:
        values = parse_values(kr, form.raw)
        validate_plan_values(kr, values)
    except ValidationError as error:
        context["preview_error"] = f"Fix the values to see the impact. {error.messages[0]}"
        return fragment_response(template, context)
    view = preview_selector(org=scope.org, kr=kr, values=values)
    before_codes = set(view["before"]["checks"])
    after_codes = {c["code"] for c in view["checks"]}
    context.update(
        preview_figures=_preview_figures(
            view["kr"], view["before"], view["aggregate"], after_codes
        ),
        preview_checks=[
            {**c, "new": c["code"] not in before_codes}
            for c in sorted(view["checks"], key=lambda c: SEVERITY_ORDER.get(c["severity"], 9))
        ],
        preview_resolved=sorted(before_codes - after_codes),
        would_notify=view["would_notify"],
        requires_rationale=view["requires_rationale"],
    )
    return fragment_response(template, context)


# --- Answering a step (a protocol step or a review request) --------------------------

ANSWERS = {
    StepKind.CASCADE_REVIEW: [
        (Answer.ACCEPT, "Accept", "apply the proposed plan to my key result"),
        (Answer.DECLINE, "Decline", "keep my plan; the note saying why is required"),
    ],
    **{
        kind: [
            (Answer.NO_CHANGE, "No change", "my plan stands as it is"),
            (Answer.MODIFIED, "Modified", "I have changed my plan in the plan editor"),
        ]
        for kind in (StepKind.ASSESS, StepKind.DOWNWARD_REVIEW, StepKind.DEPENDENCY_REVIEW)
    },
}


def step_queryset(scope: Scope):
    """Steps of the organization with what the step page and My work show."""
    return Step.objects.filter(organization=scope.org).select_related(
        "assignee", "kr__cycle", "kr__plan", "kr__parent", "source_kr", "round__parent_kr"
    )


def _step_context(scope: Scope, step: Step, form: dict) -> dict:
    kr = step.kr
    periods = kr.cycle.periods
    current = kr.plan.values
    proposed = step.proposed_values
    rows = [
        {
            "label": p.label,
            "current": _n(current[p.index]) if p.index < len(current) else "—",
            "proposed": _n(proposed[p.index]) if proposed and p.index < len(proposed) else "—",
        }
        for p in periods
    ]
    is_open = step.state == StepState.OPEN
    answers = ANSWERS.get(step.kind, [])
    return {
        "scope": scope,
        "org": scope.org,
        "step": step,
        "kr": kr,
        "kind_label": StepKind(step.kind).label,
        "overdue": is_open and step.due_at < timezone.now(),
        "rows": rows,
        "proposed_target_n": _n(step.proposed_target),
        "current_target_n": _n(kr.target),
        "answers": answers,
        "is_mine": step.assignee_id == scope.membership.user_id,
        "can_answer": bool(answers)
        and is_open
        and scope.can_write
        and step.assignee_id == scope.membership.user_id,
        "form": form,
    }


@org_view
def step_page(request, scope: Scope, step_id: int):
    """A step: what it asks, for which KR and round, by when; the assignee answers it
    here through `step_answer` (the service behind `POST .../steps/{id}/answer/`)."""
    step = scope.get(step_queryset(scope), step_id)
    form = {"answer": "", "note": "", "errors": {}}
    if request.method == "GET":
        return render(request, "notifications/step.html", _step_context(scope, step, form))
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST"])
    scope.require_writer()
    if step.assignee_id != request.user.pk:
        raise PermissionDenied("Only the person this step is assigned to may answer it.")
    form.update(answer=request.POST.get("answer", ""), note=request.POST.get("note", "")[:4000])
    if form["answer"] not in Answer.values:
        form["errors"] = {"answer": ["Choose an answer."]}
    else:
        try:
            step_answer(step=step, actor=request.user, answer=form["answer"], note=form["note"])
        except ValidationError as error:
            form["errors"] = error.message_dict
        else:
            messages.success(request, f"Answered “{Answer(form['answer']).label}”. Thank you.")
            return redirect("step", scope.org.slug, step.pk)
    return render(request, "notifications/step.html", _step_context(scope, step, form), status=400)


# --- My work: the department lead's home --------------------------------------------

MY_KRS_SHOWN = 100


@org_view
def my_home(request, scope: Scope):
    """My KRs (owned, or of departments I lead) with status and progress, and my open
    steps and review requests, each linking to where it is done: 3 queries of its own."""
    user_id = scope.membership.user_id
    krs = list(
        kr_queryset(scope.org)
        .filter(Q(owner_id=user_id) | Q(department__lead_id=user_id))
        .select_related("cycle", "parent")
        .order_by("-cycle__start", "cycle_id", "title", "id")[:MY_KRS_SHOWN]
    )
    rows = []
    for kr in krs:
        p = kr_progress(kr)
        rows.append(
            {
                "kr": kr,
                "progress": p,
                "status_label": STATUS_LABELS.get(p.status, p.status),
                "pct": None if p.progress_pct is None else f"{num(p.progress_pct)}%",
                "target_n": _n(kr.target),
            }
        )
    now = timezone.now()
    steps = [
        {
            "step": s,
            "label": StepKind(s.kind).label,
            "overdue": s.due_at < now,
            "answerable": s.kind in ANSWERS,
        }
        for s in step_queryset(scope)
        .filter(assignee_id=user_id, state=StepState.OPEN)
        .order_by("due_at", "id")
    ]
    return render(
        request,
        "notifications/my_home.html",
        {"scope": scope, "org": scope.org, "rows": rows, "steps": steps},
    )
