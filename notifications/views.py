"""Browser pages of the notifications app: the parent owner's combined view, the inbox."""

from decimal import ROUND_HALF_UP, Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Q
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from hierarchy.models import Granularity, KeyResult
from hierarchy.permissions import (
    close_require,
    kr_can_act_as_parent_owner,
    lock_require,
    notice_require,
    plan_can_edit,
    plan_require_edit,
    structure_can_change,
    target_require_change,
)
from hierarchy.scope import Scope, org_view
from hierarchy.selectors import invitation_pending_list
from notifications import charts, services
from notifications.forms import CloseForm, NoticeForm, TargetForm
from notifications.models import (
    Answer,
    Downward,
    Notification,
    Round,
    RoundStatus,
    Step,
    StepKind,
    StepState,
)
from notifications.selectors import (
    agenda_facts,
    alignment_view,
    kr_history,
    rule_for,
)
from notifications.selectors import plan_preview_of as preview_selector
from notifications.services import (
    notification_mark_read,
    notifications_mark_all_read,
    step_answer,
)
from okrplan.lib.errors import StaleVersion
from okrplan.lib.forms import form_add_service_errors
from okrplan.lib.fragments import fragment_response
from okrplan.lib.spreadsheets import Table, sheet_response
from plans import services as plan_services
from plans.checks import num
from plans.forms import PlanForm, parse_values
from plans.models import Cause, PlanStatus
from plans.selectors import kr_get, kr_progress, kr_queryset
from plans.services import validate_plan_values
from plans.shapes import centroid
from plans.views import STATUS_LABELS

SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


def _d(value) -> Decimal:
    return Decimal(value) if value not in (None, "") else Decimal(0)


def _n(value) -> str:
    return "—" if value in (None, "") else num(Decimal(value))


@org_view
@require_GET
def kr_alignment(request, scope: Scope, kr_id: int):
    kr = kr_get(org=scope.org, id=kr_id)
    return render(request, "notifications/alignment.html", _alignment_context(scope, kr))


def alignment_with_targets(scope: Scope, kr: KeyResult) -> tuple[dict, list[Decimal]]:
    """The combined view (the API's) and the shared KR's target per period: what the page
    and its export show."""
    view = alignment_view(org=scope.org, kr=kr)
    targets = charts.period_targets(
        target=_d(view["kr"]["target"]), own_values=kr.plan.values, periods=len(view["periods"])
    )
    # an even split (5,000,000 over 3 months) to the unit's decimals, like a plan's values
    step = Decimal(1).scaleb(-kr.decimals)
    return view, [t.quantize(step, rounding=ROUND_HALF_UP) for t in targets]


def _alignment_context(
    scope: Scope, kr: KeyResult, forms: dict | None = None, actions: bool = True
) -> dict:
    """Everything the combined view shows; `forms` are bound forms to show with errors
    (keys "target", ("notice", round id), ("close", round id)); no forms at all
    without `actions` (the agenda)."""
    forms = forms or {}
    view, targets = alignment_with_targets(scope, kr)
    info, aggregate = view["kr"], view["aggregate"]
    labels = [p["label"] for p in view["periods"]]

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
    can_act = actions and kr_can_act_as_parent_owner(scope, kr)
    rounds = _open_rounds(view, children, forms, can_act)
    checks = sorted(view["checks"], key=lambda c: SEVERITY_ORDER.get(c["severity"], 9))
    context = {
        "scope": scope,
        "org": scope.org,
        "view": view,
        "kr": info,
        "cycle": kr.cycle,  # the breadcrumbs (loaded with the KR: kr_get)
        "target_n": _n(info["target"]),
        "total_n": _n(aggregate.get("total")),
        "baseline_n": _n(view["baseline"]),
        "children": children,
        "periods": labels,
        "aggregate_cells": [_n(v) for v in aggregate["values"]],
        "period_targets": [_n(t) for t in targets],
        "figures": _figures(info, aggregate),
        "checks": checks,
        "rounds": rounds,
        "closed_rounds": [
            {**r, "closed_target_n": _n(r["closed_target"])}
            for r in view["rounds"]
            if r["status"] == RoundStatus.CLOSED
        ][:CLOSED_ROUNDS_SHOWN],
        "chart": chart,
        # charts.py escapes every label it writes (tests/notifications: test_it_escapes_labels).
        "chart_svg": mark_safe(chart.svg) if chart else "",  # noqa: S308  # nosec B308 B703
        "can_act": can_act,
        # the empty contributions' action (the KR's structure page): who may change the KR
        "can_add_contributions": not children and structure_can_change(scope, kr),
    }
    if can_act:
        context.update(_actions_context(scope, kr, view, forms))
    return context


CLOSED_ROUNDS_SHOWN = 5


def _num(value) -> Decimal | None:
    """A figure of the view (a decimal string, as the API writes it) as a number."""
    return None if value in (None, "") else Decimal(value)


def alignment_table(view: dict, targets: list[Decimal]) -> Table:
    """The combined view's contributions as one table: a row per contributing KR with its
    plan per period, then the aggregate and the shared KR's target per period."""
    info, aggregate = view["kr"], view["aggregate"]
    aggregation = info["aggregation"]
    sequential, parallel = aggregation == "sequential", aggregation == "parallel"
    header = [
        *(["Stage"] if sequential else []),
        "Department",
        "Key result",
        "KR id",
        "Owner",
        *[p["label"] for p in view["periods"]],
        f"Target ({info['unit']})" if info["unit"] else "Target",
        *(["Ratio", "Historical ratio", "Implied target"] if sequential else []),
        *(["Claimed impact"] if parallel else []),
        "Plan",
        "Centroid",
    ]
    rows = []
    for child in view["children"]:
        rows.append(
            [
                *([child.get("stage")] if sequential else []),
                child["department_name"],
                child["title"],
                child["id"],
                child["owner"],
                *[_num(v) for v in child["values"]],
                _num(child["target"]),
                *(
                    [
                        _num(child.get("ratio")),
                        _num(child.get("historical_ratio")),
                        _num(child.get("implied_target")),
                    ]
                    if sequential
                    else []
                ),
                *([_num(child.get("claimed_impact"))] if parallel else []),
                child["plan_status"],
                _num(child["centroid"]),
            ]
        )
    lead = [None] if sequential else []
    rows.append(
        [
            *lead,
            "Aggregate",
            info["title"],
            info["id"],
            info["owner"],
            *[_num(v) for v in aggregate["values"]],
            _num(aggregate.get("total")),
        ]
    )
    rows.append(
        [*lead, "Target", info["title"], info["id"], info["owner"], *targets, _num(info["target"])]
    )
    return Table(title=info["title"], header=header, rows=rows)


@org_view
@require_GET
def kr_alignment_export(request, scope: Scope, kr_id: int, fmt: str):
    """The combined view's contributions as CSV or XLSX: the page's selector, not a second
    computation."""
    kr = kr_get(org=scope.org, id=kr_id)
    view, targets = alignment_with_targets(scope, kr)
    return sheet_response(
        alignment_table(view, targets), fmt_=fmt, name=kr.title, fallback=f"key-result-{kr.pk}"
    )


def _departments(children: list[dict]) -> list[tuple[int, str]]:
    """(id, name) of the children's departments, once each, by name."""
    return sorted({(c["department"], c["department_name"]) for c in children}, key=lambda d: d[1])


def _who(child: dict) -> str:
    return f"{child['department_name']} ({child['owner']})"


def _open_rounds(view: dict, children: list[dict], forms: dict, can_act: bool) -> list:
    """The open rounds with their steps, and for the parent owner each one's forms and
    who they reach: the notice goes to the other departments, the close to all."""
    now = timezone.now()
    by_id = {c["id"]: c for c in children}
    rounds = []
    for r in view["rounds"]:
        if r["status"] != RoundStatus.OPEN:
            continue
        modified = by_id.get(r["modified_kr"])
        department = modified["department"] if modified else None
        others = [c for c in children if c["department"] != department]
        notice_form = close_form = None
        if can_act:
            close_form = forms.get(("close", r["id"])) or CloseForm(auto_id=f"c{r['id']}-%s")
            if r["noticed_at"] is None:
                notice_form = forms.get(("notice", r["id"])) or NoticeForm(
                    auto_id=f"n{r['id']}-%s", departments=_departments(others)
                )
        rounds.append(
            {
                **r,
                "modified": modified,
                "notice_to": [_who(c) for c in others],
                "close_to": [_who(c) for c in children],
                "notice_form": notice_form,
                "close_form": close_form,
                "steps": [
                    {
                        **s,
                        "label": StepKind(s["step"]).label,
                        "answer_label": Answer(s["answer"]).label if s["answer"] else "",
                        "overdue": s["state"] == StepState.OPEN and s["due_at"] < now,
                    }
                    for s in r["steps"]
                ],
            }
        )
    return rounds


def _actions_context(scope: Scope, kr: KeyResult, view: dict, forms: dict) -> dict:
    """What the parent owner's lock and target forms say will happen."""
    children = view["children"]
    unlocked = [c for c in children if c["plan_status"] != PlanStatus.LOCKED]
    rule = rule_for(org=scope.org, kr=kr)
    locked = kr.plan.is_locked
    others = [c for c in children if c["owner"] != scope.user.username]
    if not locked or rule.downward == Downward.NONE or not children:
        downward = "none"
    else:
        downward = rule.downward
    return {
        "lock": {
            "needed": not locked or bool(unlocked),
            "count": len(children),
            "departments": sorted({c["department_name"] for c in children}),
            "unlocked": [_who(c) for c in unlocked],
        },
        "target_form": forms.get("target")
        or TargetForm(
            auto_id="t-%s", initial={"target": _n(kr.target), "version": kr.plan.version}
        ),
        "target_effect": {
            "locked": locked,
            "downward": downward,
            "rule": rule.downward,
            "told": [_who(c) for c in others],
            "assess_hours": num(scope.org.assess_hours),
        },
        "assess_hours": num(scope.org.assess_hours),
    }


# --- The parent owner's actions (SPEC.md §6): lock, notice, close, change target -------
#
# Each is a plain POST that redirects back to the combined view; with htmx the same
# POST answers the page's region, re-rendered. Permission first (403), then the form,
# then one service: the same service the API calls, so the same rules apply, and a
# ValidationError becomes an inline error naming the field, with nothing written.


def _done(request, scope: Scope, kr_id: int, message: str):
    messages.success(request, message)
    if request.htmx:
        kr = kr_get(org=scope.org, id=kr_id)
        context = _alignment_context(scope, kr)
        return render(request, "notifications/alignment.html#region", context)
    return redirect("kr-alignment", scope.org.slug, kr_id)


def _failed(request, scope: Scope, kr_id: int, forms: dict):
    """Re-render with the errors: the region for htmx (200, so htmx swaps it in), the
    whole page without JS (400)."""
    kr = kr_get(org=scope.org, id=kr_id)
    context = _alignment_context(scope, kr, forms)
    if request.htmx:
        return render(request, "notifications/alignment.html#region", context)
    return render(request, "notifications/alignment.html", context, status=400)


def _round_for_action(scope: Scope, round_id: int, require) -> Round:
    round = scope.get(Round.objects.select_related("parent_kr", "modified_kr"), round_id)
    require(scope, round.parent_kr)
    return round


def _hidden_form_errors(request, round: Round, form, shown: bool) -> None:
    """A form no longer shown (the round is closed, the notice sent) cannot carry its
    errors: say why the action failed in a message instead."""
    if not shown:
        for error in form.non_field_errors():
            messages.error(request, f"Round {round.pk}: {error}")


@org_view
@require_POST
def kr_lock(request, scope: Scope, kr_id: int):
    kr = kr_get(org=scope.org, id=kr_id)
    lock_require(scope, kr)
    plan = plan_services.plan_lock(kr=kr, actor=request.user)
    count = KeyResult.objects.filter(organization=scope.org, parent=kr).count()
    baseline = f" Baseline: {num(plan.baseline)} {kr.unit}." if plan.baseline is not None else ""
    return _done(
        request,
        scope,
        kr.pk,
        f"Locked the plan of “{kr.title}” and of its {count} contributing key "
        f"result{'s' if count != 1 else ''}.{baseline} From now on a change to one of "
        "these plans is a modification: it needs a rationale and starts a round.",
    )


@org_view
@require_POST
def kr_target(request, scope: Scope, kr_id: int):
    kr = kr_get(org=scope.org, id=kr_id)
    target_require_change(scope, kr)
    form = TargetForm(request.POST, auto_id="t-%s")
    if form.is_valid() and form.cleaned_data["target"] == kr.target:
        form.add_error("target", f"The target is {num(kr.target)} {kr.unit} already.")
    if form.is_valid():
        before = kr.target
        try:
            plan_services.kr_change(
                kr=kr,
                actor=request.user,
                fields={},
                target=form.cleaned_data["target"],
                rationale=form.cleaned_data["rationale"],
                version=form.cleaned_data["version"],
            )
        except ValidationError as error:
            form_add_service_errors(form, error, aliases={"values": "target"})
        except StaleVersion as stale:
            data = request.POST.copy()
            data["version"] = str(stale.current_version)
            form = TargetForm(data, auto_id="t-%s")
            form.is_valid()
            form.add_error(
                None,
                "The plan changed while you were looking at it: check the figures "
                "below and send the new target again.",
            )
        else:
            return _done(
                request,
                scope,
                kr.pk,
                f"The target of “{kr.title}” is now {num(form.cleaned_data['target'])} "
                f"{kr.unit} (was {num(before)}).",
            )
    return _failed(request, scope, kr.pk, {"target": form})


@org_view
@require_POST
def round_notice(request, scope: Scope, round_id: int):
    round = _round_for_action(scope, round_id, notice_require)
    others = (
        KeyResult.objects.filter(organization=scope.org, parent_id=round.parent_kr_id)
        .exclude(department_id=round.modified_kr.department_id)
        .values_list("department_id", "department__name")
        .distinct()
        .order_by("department__name")
    )
    form = NoticeForm(request.POST, auto_id=f"n{round.pk}-%s", departments=list(others))
    if form.is_valid():
        try:
            services.round_notice(
                round=round,
                actor=request.user,
                message=form.cleaned_data["message"],
                department_messages=form.department_messages(),
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            return _done(
                request,
                scope,
                round.parent_kr_id,
                f"Impact notice sent for round {round.pk}: each other contributing "
                "department has an assess step.",
            )
    shown = round.status == RoundStatus.OPEN and round.noticed_at is None
    _hidden_form_errors(request, round, form, shown)
    return _failed(request, scope, round.parent_kr_id, {("notice", round.pk): form})


@org_view
@require_POST
def round_close(request, scope: Scope, round_id: int):
    round = _round_for_action(scope, round_id, close_require)
    form = CloseForm(request.POST, auto_id=f"c{round.pk}-%s")
    if form.is_valid():
        try:
            closed = services.round_close(
                round=round,
                actor=request.user,
                note=form.cleaned_data["note"],
                target=form.cleaned_data["target"],
            )
        except ValidationError as error:
            form_add_service_errors(form, error, aliases={"values": "target", "rationale": "note"})
        else:
            return _done(
                request,
                scope,
                round.parent_kr_id,
                f"Round {round.pk} is closed: the shared target is "
                f"{num(closed.closed_target)} {round.parent_kr.unit}.",
            )
    _hidden_form_errors(request, round, form, round.status == RoundStatus.OPEN)
    return _failed(request, scope, round.parent_kr_id, {("close", round.pk): form})


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


# --- The audit trail of a KR -------------------------------------------------------

HISTORY_PAGE_SIZE = 100
EVENT_LABELS = {
    "started": "Round started",
    "modified_again": "Modified again",
    "notice_sent": "Impact notice sent",
    "assessed": "Answered",
    "reminder": "Reminder",
    "escalation": "Escalation",
    "orphaned": "Orphaned modification",
    "orphan_notice": "Automatic notice",
    "closed": "Round closed",
}
CAUSE_LABELS = dict(Cause.choices)


def _history_row(entry: dict) -> dict:
    """One line of the trail: a plan revision or a round event, in words."""
    if entry["kind"] == "revision":
        return {
            **entry,
            "what": f"Plan version {entry['version']}",
            "cause_label": CAUSE_LABELS.get(entry["cause"], entry["cause"]),
            "before_n": _n(entry["before_target"]),
            "after_n": _n(entry["after_target"]),
            "text": entry["rationale"],
        }
    return {
        **entry,
        "what": EVENT_LABELS.get(entry["event"], entry["event"].replace("_", " ").capitalize()),
        "cause_label": f"Round {entry['round']}",
        "before_n": None,
        "after_n": None,
        "text": entry["message"],
    }


@org_view
@require_GET
def kr_history_page(request, scope: Scope, kr_id: int):
    """Plan revisions and round events, oldest first: what `GET .../history/` returns."""
    kr = kr_get(org=scope.org, id=kr_id)
    entries = kr_history(org=scope.org, kr=kr)
    page = Paginator(entries, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    has_children = KeyResult.objects.filter(organization=scope.org, parent=kr).exists()
    return render(
        request,
        "notifications/history.html",
        {
            "scope": scope,
            "org": scope.org,
            "kr": kr,
            "has_children": has_children,
            # the empty history's action: the first save of the plan
            "can_edit_plan": plan_can_edit(scope, kr, has_children=has_children),
            "page": page,
            "rows": [_history_row(e) for e in page.object_list],
            "modifications": sum(1 for e in entries if e["is_modification"]),
            "round_ids": sorted({e["round"] for e in entries if e["round"]}),
        },
    )


# --- The alignment meeting agenda --------------------------------------------------

# The seed article's agenda (seeds/cross-functional-plan-alignment.txt, "The
# Cross-Functional Alignment Meeting"): five time-boxed items; the second gives each
# contributing department two minutes.
MINUTES_PER_DEPARTMENT = 2
VALIDATE_QUESTION = {
    "additive": "Do the contributions sum to the target?",
    "sequential": "Are the funnel ratios consistent (and close to history)?",
    "parallel": "Is the combined impact plausible, once overlap is discounted?",
}


def _distribution(centroid) -> str:
    """The distribution shape in words, from the plan's centroid (SPEC.md §4)."""
    if centroid in (None, ""):
        return "not planned yet"
    c = Decimal(centroid)
    if c < Decimal("0.45"):
        return "front-loaded"
    if c > Decimal("0.55"):
        return "back-loaded"
    return "even"


@org_view
@require_GET
def kr_agenda(request, scope: Scope, kr_id: int):
    kr = kr_get(org=scope.org, id=kr_id)
    context = _alignment_context(scope, kr, actions=False)
    view = context["view"]
    facts = agenda_facts(org=scope.org, kr=kr, children=view["children"])
    departments: dict[int, dict] = {}
    for child in context["children"]:
        department = departments.setdefault(
            child["department"],
            {
                "name": child["department_name"],
                "lead": facts["leads"].get(child["department"], ""),
                "krs": [],
            },
        )
        department["krs"].append(
            {
                **child,
                "distribution": _distribution(child["centroid"]),
                "assumptions": facts["assumptions"].get(child["id"], []),
            }
        )
    rule = rule_for(org=scope.org, kr=kr)
    minutes = [5, MINUTES_PER_DEPARTMENT * len(departments), 10, 5, 2]
    parent_centroid = centroid(kr.plan.values)
    return render(
        request,
        "notifications/agenda.html",
        {
            **context,
            "cycle": kr.cycle,
            "departments": list(departments.values()),
            "minutes": minutes,
            "total_minutes": sum(minutes),
            "question": VALIDATE_QUESTION.get(view["kr"]["aggregation"], ""),
            "parent_distribution": _distribution(parent_centroid),
            "rule": rule,
            "threshold_n": num(rule.threshold_pct),
            "hours": [
                num(scope.org.notify_hours),
                num(scope.org.assess_hours),
                num(scope.org.close_hours),
            ],
        },
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
@require_GET
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
            # from every organization: the invitee is not a member of the inviting one
            "invitations": invitation_pending_list(user=request.user),
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
    kr = kr_get(org=scope.org, id=kr_id)
    plan_require_edit(scope, kr)
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


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def cycle_span(cycle) -> str:
    """The period a plan covers, as My work names it: "Q3 2026 (3 months)"."""
    word = "week" if cycle.granularity == Granularity.WEEK else "month"
    return f"{cycle.name} ({_count(len(cycle.periods), word)})"


def step_what(step: Step) -> tuple[str, str]:
    """What an open step asks and the period it is about: a check-in names its period
    ("Check in for Aug 2026"; a week by its dates too), the other steps are about a
    plan, which covers its cycle ("Plan: Q3 2026 (3 months)")."""
    label = StepKind(step.kind).label
    cycle = step.kr.cycle
    periods = cycle.periods
    if step.kind == StepKind.CHECKIN and step.period is not None and step.period < len(periods):
        period = periods[step.period]
        if cycle.granularity == Granularity.WEEK:
            days = f"{date_format(period.start, 'j M')} \u2013 {date_format(period.end, 'j M Y')}"
            return f"{label} for {period.label} of {cycle.name} ({days})", ""
        return f"{label} for {period.label}", ""
    return label, f"Plan: {cycle_span(cycle)}"


@org_view
@require_GET
def my_home(request, scope: Scope):
    """My KRs (owned, or of departments I lead) with status and progress, and my open
    steps and review requests, each linking to where it is done: 3 queries of its own."""
    user_id = scope.membership.user_id
    krs = list(
        kr_queryset(scope.org)
        .filter(Q(owner_id=user_id) | Q(department__lead_id=user_id), archived_at__isnull=True)
        .select_related("cycle", "parent")
        .order_by("-cycle__start", "cycle_id", "title", "id")[:MY_KRS_SHOWN]
    )
    rows = []
    for kr in krs:
        p = kr_progress(kr)
        rows.append(
            {
                "kr": kr,
                "span": cycle_span(kr.cycle),
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
            "what": step_what(s),
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
