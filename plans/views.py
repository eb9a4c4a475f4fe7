"""Browser pages of the plans app: the cycles of an organization, a cycle's KR tree,
a KR's plan editor and its check-ins."""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from hierarchy.models import Cycle, KeyResult, MetricKind
from hierarchy.permissions import kr_can_edit, kr_require_edit, plan_can_edit, plan_require_edit
from hierarchy.scope import Scope, org_view
from hierarchy.selectors import cycles_with_current
from okrplan.lib.errors import StaleVersion
from okrplan.lib.fields import number_message
from okrplan.lib.fragments import fragment_response
from plans import services
from plans.checks import num
from plans.forms import PRESETS, PlanForm, parse_number, parse_values
from plans.models import CheckIn
from plans.progress import Progress, progress
from plans.selectors import kr_progress, objective_progress, objective_queryset
from plans.shapes import centroid

STATUS_LABELS = {
    "on_track": "On track",
    "at_risk": "At risk",
    "off_track": "Off track",
    "not_started": "Not started",
}


@dataclass(frozen=True)
class TreeRow:
    """One KR of the tree, in display order (depth first)."""

    kr: KeyResult
    depth: int
    progress: Progress
    is_parent: bool
    # The parent when it belongs to another objective of the cycle (the row is a root here).
    parent_elsewhere: KeyResult | None = None

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.progress.status, self.progress.status)

    @property
    def pct(self) -> str | None:
        pct = self.progress.progress_pct
        return None if pct is None else f"{num(pct)}%"

    @property
    def target(self) -> str:
        return num(self.kr.target)

    @property
    def indent(self) -> int:
        return min(self.depth, 6)


def _child_order(kr: KeyResult):
    return (kr.stage is None, kr.stage or 0, kr.pk)


def kr_tree(krs: list[KeyResult]) -> dict[int, list[TreeRow]]:
    """Objective id → its KRs as rows of a tree, parents before their children.

    Plain Python over one list. A KR nests under its parent when both belong to the
    same objective; a KR whose parent is in another objective of the cycle is a root
    of its own objective's tree, with that parent named (each KR appears once).
    """
    by_id = {kr.pk: kr for kr in krs}
    children: dict[int, list[KeyResult]] = defaultdict(list)
    for kr in krs:
        if kr.parent_id in by_id:
            children[kr.parent_id].append(kr)
    for siblings in children.values():
        siblings.sort(key=_child_order)

    trees: dict[int, list[TreeRow]] = defaultdict(list)
    seen: set[int] = set()

    def visit(kr: KeyResult, depth: int, parent_elsewhere: KeyResult | None = None) -> None:
        if kr.pk in seen:  # never loop, even on inconsistent data
            return
        seen.add(kr.pk)
        own = [c for c in children.get(kr.pk, []) if c.objective_id == kr.objective_id]
        trees[kr.objective_id].append(
            TreeRow(
                kr=kr,
                depth=depth,
                progress=kr_progress(kr),
                is_parent=bool(children.get(kr.pk)),
                parent_elsewhere=parent_elsewhere,
            )
        )
        for child in own:
            visit(child, depth + 1)

    for kr in sorted(krs, key=lambda k: k.pk):
        parent = by_id.get(kr.parent_id)
        if parent is None:
            visit(kr, 0)
        elif parent.objective_id != kr.objective_id:
            visit(kr, 0, parent_elsewhere=parent)
    return trees


def _pct(value: Decimal | None) -> str | None:
    return None if value is None else f"{num(value)}%"


@org_view
@require_GET
def cycle_list(request, scope: Scope):
    """The cycles, newest first; the archived ones only with `?archived=1` (their count
    says there are some)."""
    cycles = list(
        cycles_with_current(scope.queryset(Cycle))
        .annotate(
            objective_count=Count("objectives", distinct=True),
            kr_count=Count("key_results", distinct=True),
        )
        .order_by("-start", "-id")
    )
    show_archived = request.GET.get("archived") == "1"
    archived_count = sum(c.archived_at is not None for c in cycles)
    return render(
        request,
        "plans/cycle_tree.html",
        {
            "page": "list",
            "scope": scope,
            "org": scope.org,
            "cycles": [
                {"cycle": c, "current": c.is_current, "periods": len(c.periods)}
                for c in cycles
                if show_archived or c.archived_at is None
            ],
            "show_archived": show_archived,
            "archived_count": archived_count,
        },
    )


@org_view
@require_GET
def cycle_tree(request, scope: Scope, cycle_id: int):
    cycle = scope.get(cycles_with_current(Cycle.objects.all()), cycle_id)
    # 3 queries whatever the size: the objectives, their KRs (`kr_queryset`, with owner,
    # department and plan) and the check-ins. A KR's cycle is its objective's (kept by
    # the hierarchy services), so these KRs are all the KRs of the cycle: the tree is
    # built from this one list rather than loading every KR and check-in a second time.
    objectives = list(objective_queryset(scope.org).filter(cycle=cycle).order_by("id"))
    krs = [kr for objective in objectives for kr in objective.key_results.all()]
    trees = kr_tree(krs)
    sections = []
    for objective in objectives:
        pct = objective_progress(objective)
        sections.append(
            {
                "objective": objective,
                "progress": _pct(pct),
                "bar": max(Decimal(0), min(Decimal(100), pct or Decimal(0))),
                "rows": trees.get(objective.pk, []),
            }
        )
    return render(
        request,
        "plans/cycle_tree.html",
        {
            "scope": scope,
            "org": scope.org,
            "cycle": cycle,
            "current": cycle.is_current,
            "periods": cycle.periods,
            "page": "tree",
            "objectives": sections,
            "kr_count": len(krs),
        },
    )


# --- The plan editor and check-ins (SPEC.md §6: the department lead's pages) ------


def plan_kr_queryset(org):
    """How the plan pages load their KR: what the page and the services read."""
    return KeyResult.objects.filter(organization=org).select_related(
        "cycle", "department", "plan", "owner", "parent"
    )


@dataclass(frozen=True)
class LiveFigures:
    """The totals the editor shows as one types (SPEC.md §2 target, §4 centroid)."""

    total: str | None
    total_label: str
    change: str | None
    centroid: str | None
    problem: str | None


def plan_figures(kr: KeyResult, raw: list[str]) -> LiveFigures:
    """Total (or final level), change of the target and centroid of what is typed, and
    the first problem the save would report (the services' own check, nothing written)."""
    label = "Total" if kr.metric_kind == MetricKind.CUMULATIVE else "Final level"
    try:
        values = parse_values(kr, raw)
    except ValidationError as error:
        return LiveFigures(None, label, None, None, error.messages[0])
    try:
        services.validate_plan_values(kr, values)
        problem = None
    except ValidationError as error:
        problem = error.messages[0]
    total = services.plan_target(kr, values)
    c = centroid(values)
    change = total - kr.target
    return LiveFigures(
        total=num(total),
        total_label=label,
        change=("+" if change > 0 else "") + num(change) if change else None,
        centroid=None if c is None else format(c.quantize(Decimal("0.01")), "f"),
        problem=problem,
    )


def _checkin_rows(kr: KeyResult, checkins: list[CheckIn]) -> list[dict]:
    by_period: dict[int, list[CheckIn]] = defaultdict(list)
    for checkin in checkins:
        checkin.value_n = num(checkin.value)
        by_period[checkin.period].append(checkin)
    plan = kr.plan.values
    return [
        {
            "period": p,
            "planned": num(plan[p.index]) if p.index < len(plan) else "—",
            "checkins": by_period.get(p.index, []),
            "latest": by_period[p.index][-1] if by_period.get(p.index) else None,
            "latest_n": by_period[p.index][-1].value_n if by_period.get(p.index) else None,
        }
        for p in kr.cycle.periods
    ]


def _editor_page(
    request,
    scope: Scope,
    kr: KeyResult,
    *,
    form: PlanForm | None = None,
    checkin_form: dict | None = None,
    status: int = 200,
):
    form = form or PlanForm.of_plan(kr)
    periods = kr.cycle.periods
    checkins = list(
        CheckIn.objects.filter(organization=scope.org, kr=kr)
        .select_related("author")
        .order_by("period", "created_at", "id")
    )
    today = timezone.localdate()
    progress_ = kr_progress_of(kr, checkins)
    rows = [
        {
            "index": p.index,
            "label": p.label,
            "start": p.start,
            "end": p.end,
            "raw": form.raw[p.index] if p.index < len(form.raw) else "",
            "shown": num(kr.plan.values[p.index]) if p.index < len(kr.plan.values) else "—",
            "errors": form.value_errors.get(p.index, []),
        }
        for p in periods
    ]
    can_edit = plan_can_edit(scope, kr)
    return render(
        request,
        "plans/plan_editor.html",
        {
            "scope": scope,
            "org": scope.org,
            "kr": kr,
            "plan": kr.plan,
            "form": form,
            "rows": rows,
            "figures": plan_figures(kr, form.raw),
            "can_edit": can_edit,
            "can_check_in": can_edit or kr_can_edit(scope, kr),
            "show_preview": can_edit and kr.parent_id is not None,
            "target_n": num(kr.target),
            "start_n": num(kr.start_value),
            "presets": [(s.value, s.label) for s in PRESETS],
            "progress": progress_,
            "status_label": STATUS_LABELS.get(progress_.status, progress_.status),
            "progress_pct": _pct(progress_.progress_pct),
            "checkin_rows": _checkin_rows(kr, checkins),
            "checkin_periods": [p for p in periods if p.start <= today],
            "checkin_form": checkin_form or {"errors": {}},
        },
        status=status,
    )


def kr_progress_of(kr: KeyResult, checkins: list[CheckIn]) -> Progress:
    actuals = {c.period: c.value for c in checkins}
    return progress(
        metric_kind=kr.metric_kind,
        start_value=kr.start_value,
        target=kr.target,
        plan=kr.plan.values,
        actuals=actuals,
    )


@org_view
def plan_editor(request, scope: Scope, kr_id: int):
    """The plan editor: GET shows it; POST with `live` answers the totals fragment as one
    types (nothing written); a plain POST saves through `plan_update` / `plan_apply_shape`
    (the API's validation), re-rendering what was typed with the error on a bad value."""
    kr = scope.get(plan_kr_queryset(scope.org), kr_id)
    if request.method == "GET":
        return _editor_page(request, scope, kr)
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST"])
    action = request.POST.get("action")
    plan_require_edit(scope, kr)  # submitting the saved plan is a plan edit too
    if action == "submit":
        return _plan_submit(request, scope, kr)
    form = PlanForm.of_post(kr, request.POST)
    if request.POST.get("live"):
        return fragment_response(
            "plans/plan_editor.html#totals", {"kr": kr, "figures": plan_figures(kr, form.raw)}
        )
    try:
        if action == "shape":
            try:
                target = parse_number(form.target)
            except ValueError as error:
                message = number_message(error) if form.target.strip() else ""
                raise ValidationError(
                    {"target": [message or "Give the target to reach, as a number."]}
                ) from None
            plan = services.plan_apply_shape(
                kr=kr,
                shape=form.shape if form.shape in PRESETS else "",
                target=target,
                version=form.version,
                actor=request.user,
                rationale=form.rationale,
            )
        else:
            plan = services.plan_update(
                kr=kr,
                values=parse_values(kr, form.raw),
                version=form.version,
                actor=request.user,
                rationale=form.rationale,
            )
    except StaleVersion as stale:
        form.stale_version = stale.current_version
        return _editor_page(request, scope, kr, form=form, status=409)
    except ValidationError as error:
        form.add(error)
        return _editor_page(request, scope, kr, form=form, status=400)
    what = "modification" if plan.is_locked else "plan"
    messages.success(
        request,
        f"Saved the {what}: version {plan.version}"
        + (", and the parent owner is told." if plan.is_locked else "."),
    )
    return redirect("plan-editor", scope.org.slug, kr.pk)


def _plan_submit(request, scope: Scope, kr: KeyResult):
    """Submit the saved plan for alignment (`plan_submit`: the refine window, not all 0)."""
    try:
        services.plan_submit(kr=kr, actor=request.user)
    except ValidationError as error:
        form = PlanForm.of_plan(kr)
        form.errors = {"submit": error.messages}
        return _editor_page(request, scope, kr, form=form, status=400)
    messages.success(request, "Submitted the plan: the parent owner can now lock it.")
    return redirect("plan-editor", scope.org.slug, kr.pk)


@org_view
@require_POST
def kr_checkin(request, scope: Scope, kr_id: int):
    """Record a check-in through `checkin_create`; a bad one re-renders the plan page."""
    kr = scope.get(plan_kr_queryset(scope.org), kr_id)
    kr_require_edit(scope, kr)
    data = {
        "period": request.POST.get("period", ""),
        "value": request.POST.get("value", "")[:60],
        "note": request.POST.get("note", "")[:4000],
        "errors": {},
    }
    try:
        period = int(data["period"])
    except ValueError:
        data["errors"]["period"] = ["Choose the period this value is for."]
        period = None
    try:
        value = parse_number(data["value"])
    except ValueError as error:
        blank = not data["value"].strip()
        data["errors"]["value"] = [
            "Give the actual value, as a number." if blank else number_message(error)
        ]
    if not data["errors"]:
        try:
            services.checkin_create(
                kr=kr, period=period, value=value, author=request.user, note=data["note"]
            )
        except ValidationError as error:
            data["errors"] = error.message_dict
    if data["errors"]:
        return _editor_page(request, scope, kr, checkin_form=data, status=400)
    label = kr.cycle.periods[period].label
    messages.success(request, f"Checked in {num(value)} {kr.unit} for {label}.")
    return redirect(reverse("plan-editor", args=[scope.org.slug, kr.pk]) + "#checkins")
