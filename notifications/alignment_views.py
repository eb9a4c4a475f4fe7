"""The parent owner's combined view of a shared KR, its export, and its actions
(lock, change the target, send the impact notice, close a round)."""

from decimal import ROUND_HALF_UP, Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from hierarchy.models import KeyResult
from hierarchy.permissions import (
    close_require,
    kr_can_act_as_parent_owner,
    lock_require,
    notice_require,
    structure_can_change,
    target_require_change,
)
from hierarchy.scope import Scope, org_view
from notifications import charts, services
from notifications.forms import CloseForm, NoticeForm, TargetForm
from notifications.models import (
    Answer,
    Downward,
    Round,
    RoundStatus,
    StepKind,
    StepState,
)
from notifications.selectors import (
    AlignmentView,
    alignment_view,
    rule_for,
)
from notifications.trajectory import trajectory_of
from okrplan.lib.errors import StaleVersion
from okrplan.lib.forms import form_add_service_errors
from okrplan.lib.numbers import fmt, num
from okrplan.lib.spreadsheets import Table, sheet_response
from plans import services as plan_services
from plans.alignment import Aggregate, Contribution
from plans.models import PlanStatus
from plans.selectors import kr_get

SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


def checks_by_severity(checks: list) -> list:
    return sorted(checks, key=lambda c: SEVERITY_ORDER.get(c.severity, 9))


@org_view
@require_GET
def kr_alignment(request, scope: Scope, kr_id: int):
    kr = kr_get(org=scope.org, id=kr_id)
    return render(request, "notifications/alignment.html", alignment_context(scope, kr))


def alignment_with_targets(scope: Scope, kr: KeyResult) -> tuple[AlignmentView, list[Decimal]]:
    """The combined view (the API's) and the shared KR's target per period: what the page
    and its export show."""
    view = alignment_view(org=scope.org, kr=kr)
    targets = charts.period_targets(
        target=view.inputs.target, own_values=kr.plan.values, periods=len(view.periods)
    )
    # an even split (5,000,000 over 3 months) to the unit's decimals, like a plan's values
    step = Decimal(1).scaleb(-kr.decimals)
    return view, [t.quantize(step, rounding=ROUND_HALF_UP) for t in targets]


def alignment_context(
    scope: Scope, kr: KeyResult, forms: dict | None = None, actions: bool = True
) -> dict:
    """Everything the combined view shows; `forms` are bound forms to show with errors
    (keys "target", ("notice", round id), ("close", round id)); no forms at all
    without `actions` (the agenda)."""
    forms = forms or {}
    view, targets = alignment_with_targets(scope, kr)
    alignment = view.alignment
    labels = [p.label for p in view.periods]
    children = alignment.children
    chart = _chart(kr, alignment.aggregate, children, labels, targets)
    can_act = actions and kr_can_act_as_parent_owner(scope, kr)
    rounds = [_round_row(r) for r in view.rounds]
    context = {
        "scope": scope,
        "org": scope.org,
        "view": view,
        "kr": kr,
        "cycle": kr.cycle,  # the breadcrumbs (loaded with the KR: kr_get)
        "target": view.inputs.target,
        "aggregate": alignment.aggregate,
        "baseline": view.inputs.baseline,
        "children": children,
        "periods": labels,
        "period_targets": targets,
        "figures": _figures(kr, alignment.aggregate),
        "checks": checks_by_severity(alignment.checks),
        "rounds": _open_rounds(rounds, children, forms, can_act),
        "closed_rounds": [r for r in rounds if r["status"] == RoundStatus.CLOSED][
            :CLOSED_ROUNDS_SHOWN
        ],
        "chart": chart,
        # charts.py escapes every label it writes (tests/notifications: test_it_escapes_labels).
        "chart_svg": mark_safe(chart.svg) if chart else "",  # noqa: S308  # nosec B308 B703
        "can_act": can_act,
        # the empty contributions' action (the KR's structure page): who may change the KR
        "can_add_contributions": not children and structure_can_change(scope, kr),
    }
    if can_act:
        context.update(_actions_context(scope, kr, children, forms))
    if actions and children:  # the section "Against actuals" (not on the agenda)
        context["trajectory"] = trajectory_of(
            kr=kr,
            children=children,
            effective_plan=alignment.effective_values,
            today=timezone.localdate(),
        )
    return context


CLOSED_ROUNDS_SHOWN = 5


def _round_row(r: Round) -> dict:
    """A round of the combined view with its steps, as the page lists it."""
    return {
        "id": r.pk,
        "number": r.number,
        "label": r.label,
        "status": r.status,
        "orphaned": r.orphaned,
        "started_at": r.started_at,
        "modified_kr": r.modified_kr_id,
        "noticed_at": r.noticed_at,
        "notice_message": r.notice_message,
        "closed_at": r.closed_at,
        "close_note": r.close_note,
        "closed_target": r.closed_target,
        "steps": r.steps.all(),
    }


def alignment_table(view: AlignmentView, targets: list[Decimal]) -> Table:
    """The combined view's contributions as one table: a row per contributing KR with its
    plan per period, then the aggregate and the shared KR's target per period."""
    kr, aggregate = view.kr, view.alignment.aggregate
    sequential, parallel = kr.aggregation == "sequential", kr.aggregation == "parallel"
    # an additive KR's contributions count in its unit (hierarchy.services._validate_kr); a
    # funnel's stages and parallel contributions each in their own: a column of units
    units = sequential or parallel
    header = [
        *(["Stage"] if sequential else []),
        "Department",
        "Key result",
        "KR id",
        "Owner",
        *[p.label for p in view.periods],
        "Target" if units or not kr.unit else f"Target ({kr.unit})",
        *(["Unit"] if units else []),
        *(["Ratio", "Historical ratio", "Implied target"] if sequential else []),
        *(["Claimed impact"] if parallel else []),
        "Plan",
        "Centroid",
    ]
    rows = []
    for child in view.alignment.children:
        rows.append(
            [
                *([child.stage] if sequential else []),
                child.department_name,
                child.title,
                child.id,
                child.owner,
                *child.values,
                child.target,
                *([child.unit] if units else []),
                *(
                    [child.ratio, child.historical_ratio, child.implied_target]
                    if sequential
                    else []
                ),
                *([child.claimed_impact] if parallel else []),
                child.plan_status,
                child.centroid,
            ]
        )
    lead = [None] if sequential else []
    owner = kr.owner.username
    unit = [kr.unit] if units else []
    rows.append(
        [*lead, "Aggregate", kr.title, kr.pk, owner, *aggregate.values, aggregate.total, *unit]
    )
    rows.append([*lead, "Target", kr.title, kr.pk, owner, *targets, view.inputs.target, *unit])
    return Table(title=kr.title, header=header, rows=rows)


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


def _departments(children: list[Contribution]) -> list[tuple[int, str]]:
    """(id, name) of the children's departments, once each, by name."""
    return sorted({(c.department, c.department_name) for c in children}, key=lambda d: d[1])


def _who(child: Contribution) -> str:
    return f"{child.department_name} ({child.owner})"


def _open_rounds(
    rounds: list[dict], children: list[Contribution], forms: dict, can_act: bool
) -> list:
    """The open rounds with their steps, and for the parent owner each one's forms and
    who they reach: the notice goes to the other departments, the close to all."""
    now = timezone.now()
    by_id = {c.id: c for c in children}
    shown = []
    for r in rounds:
        if r["status"] != RoundStatus.OPEN:
            continue
        modified = by_id.get(r["modified_kr"])
        department = modified.department if modified else None
        others = [c for c in children if c.department != department]
        notice_form = close_form = None
        if can_act:
            close_form = forms.get(("close", r["id"])) or CloseForm(auto_id=f"c{r['id']}-%s")
            if r["noticed_at"] is None:
                notice_form = forms.get(("notice", r["id"])) or NoticeForm(
                    auto_id=f"n{r['id']}-%s", departments=_departments(others)
                )
        shown.append(
            {
                **r,
                "modified": modified,
                "notice_to": [_who(c) for c in others],
                "close_to": [_who(c) for c in children],
                "notice_form": notice_form,
                "close_form": close_form,
                "steps": [
                    {
                        "step": s.kind,
                        "assignee": s.assignee.username,
                        "department": s.department.name if s.department else None,
                        "due_at": s.due_at,
                        "done_at": s.done_at,
                        "state": s.state,
                        "note": s.note,
                        "label": StepKind(s.kind).label,
                        "answer_label": Answer(s.answer).label if s.answer else "",
                        "overdue": s.state == StepState.OPEN and s.due_at < now,
                    }
                    for s in r["steps"]
                ],
            }
        )
    return shown


def _actions_context(
    scope: Scope, kr: KeyResult, children: list[Contribution], forms: dict
) -> dict:
    """What the parent owner's lock and target forms say will happen."""
    unlocked = [c for c in children if c.plan_status != PlanStatus.LOCKED]
    rule = rule_for(org=scope.org, kr=kr)
    locked = kr.plan.is_locked
    others = [c for c in children if c.owner != scope.user.username]
    if not locked or rule.downward == Downward.NONE or not children:
        downward = "none"
    else:
        downward = rule.downward
    return {
        "lock": {
            "needed": not locked or bool(unlocked),
            "count": len(children),
            "departments": sorted({c.department_name for c in children}),
            "unlocked": [_who(c) for c in unlocked],
        },
        "target_form": forms.get("target")
        or TargetForm(
            auto_id="t-%s", initial={"target": num(kr.target), "version": kr.plan.version}
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
        context = alignment_context(scope, kr)
        return render(request, "notifications/alignment.html#region", context)
    return redirect("kr-alignment", scope.org.slug, kr_id)


def _failed(request, scope: Scope, kr_id: int, forms: dict):
    """Re-render with the errors: the region for htmx (200, so htmx swaps it in), the
    whole page without JS (400)."""
    kr = kr_get(org=scope.org, id=kr_id)
    context = alignment_context(scope, kr, forms)
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
            messages.error(request, f"{round.label}: {error}")


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
                f"Impact notice sent for round {round.number}: each other contributing "
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
                f"{round.label} is closed: the shared target is "
                f"{num(closed.closed_target)} {round.parent_kr.unit}.",
            )
    _hidden_form_errors(request, round, form, round.status == RoundStatus.OPEN)
    return _failed(request, scope, round.parent_kr_id, {("close", round.pk): form})


def _figures(kr: KeyResult, aggregate: Aggregate) -> list[tuple[str, str, str]]:
    """(label, value, css class) of the aggregate against the target."""
    unit = kr.unit
    short = "bad" if (aggregate.gap or 0) > 0 else "ok"
    gap = [
        ("Gap", f"{num(aggregate.gap)} {unit}", short),
        ("Gap %", f"{fmt(aggregate.gap_pct, 2)}%" if aggregate.gap_pct is not None else "—", short),
    ]
    if kr.aggregation == "sequential":
        return [
            ("Target", f"{num(kr.target)} {unit}", ""),
            ("Implied output", f"{num(aggregate.implied_output)} {unit}", ""),
            *gap,
        ]
    if kr.aggregation == "parallel":
        short = "bad" if (aggregate.discounted_claim or 0) < (aggregate.needed or 0) else "ok"
        return [
            ("Raw claim", f"{num(aggregate.raw_claim)} {unit}", ""),
            ("Discounted claim", f"{num(aggregate.discounted_claim)} {unit}", short),
            ("Needed", f"{num(aggregate.needed)} {unit}", ""),
        ]
    figures = [
        ("Target", f"{num(kr.target)} {unit}", ""),
        ("Total", f"{num(aggregate.total)} {unit}", ""),
    ]
    return figures + gap if aggregate.gap is not None else figures


def _chart(kr: KeyResult, aggregate: Aggregate, children, labels, targets) -> charts.Chart | None:
    if not children:
        return None
    chart_id = f"kr-{kr.pk}-chart"
    if kr.aggregation == "sequential":
        stages = [
            (f"{c.stage or '-'}. {c.title}", c.target, c.implied_target, "")
            for c in sorted(children, key=lambda c: (c.stage or 0, c.id))
        ]
        return charts.funnel_chart(
            chart_id=chart_id,
            title=f"{kr.title}: each stage's target and implied target",
            stages=stages,
        )
    if kr.aggregation == "parallel":
        return charts.parallel_chart(
            chart_id=chart_id,
            title=f"{kr.title}: claimed impact against the improvement needed",
            unit=kr.unit,
            raw=aggregate.raw_claim or Decimal(0),
            discounted=aggregate.discounted_claim or Decimal(0),
            needed=aggregate.needed or Decimal(0),
        )
    return charts.additive_chart(
        chart_id=chart_id,
        title=f"{kr.title}: contributions per period against the target",
        unit=kr.unit,
        periods=labels,
        series=[(c.department_name, c.values) for c in children],
        targets=targets,
    )
