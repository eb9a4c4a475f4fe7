"""Browser pages of the plans app: the cycles of an organization, a cycle's KR tree,
a KR's plan editor and its check-ins."""

from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Q
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from hierarchy.models import (
    Aggregation,
    Cycle,
    KeyResult,
    Membership,
    MetricKind,
    Objective,
    Role,
)
from hierarchy.permissions import (
    kr_can_archive,
    kr_can_edit,
    kr_can_move,
    kr_require_edit,
    objective_can_create,
    objective_can_edit,
    plan_can_edit,
    plan_require_edit,
)
from hierarchy.scope import Scope, org_view
from hierarchy.selectors import cycle_current, cycles_with_current, departments_active
from okrplan.lib.errors import StaleVersion
from okrplan.lib.forms import form_add_service_errors
from okrplan.lib.fragments import fragment_response
from okrplan.lib.spreadsheets import Table, sheet_response
from plans import services
from plans.actuals import objective_progress
from plans.checks import num
from plans.forms import PRESETS, CheckInForm, PlanForm, TreeFilterForm, parse_values
from plans.models import CheckIn
from plans.progress import STATUS_LABELS, Progress
from plans.selectors import kr_effective, kr_get, progress_map
from plans.shapes import centroid
from plans.trajectory_pages import burnup_view


@dataclass(frozen=True)
class TreeRow:
    """One KR of the tree, in display order (depth first)."""

    kr: KeyResult
    depth: int
    progress: Progress
    is_parent: bool
    # The parent when it belongs to another objective of the cycle (the row is a root here).
    parent_elsewhere: KeyResult | None = None
    # Shown only as the parent of a row that matches the filters.
    context: bool = False
    actions: "RowActions | None" = None

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
    """A funnel's stages in stage order, other siblings where they were put."""
    return (kr.stage is None, kr.stage or 0, kr.position, kr.pk)


def kr_tree(krs: list[KeyResult], progress_of: dict[int, Progress]) -> dict[int, list[TreeRow]]:
    """Objective id → its KRs as rows of a tree, parents before their children.

    Plain Python over one list. A KR nests under its parent when both belong to the
    same objective; a KR whose parent is in another objective of the cycle is a root
    of its own objective's tree, with that parent named (each KR appears once).
    `progress_of`: KR id → its progress (`progress_map`).
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
                progress=progress_of[kr.pk],
                is_parent=bool(children.get(kr.pk)),
                parent_elsewhere=parent_elsewhere,
            )
        )
        for child in own:
            visit(child, depth + 1)

    for kr in sorted(krs, key=lambda k: (k.position, k.pk)):
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
            objective_count=Count(
                "objectives", filter=Q(objectives__archived_at__isnull=True), distinct=True
            ),
            kr_count=Count(
                "key_results", filter=Q(key_results__archived_at__isnull=True), distinct=True
            ),
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
    fragment = "tree" if request.htmx and request.htmx.target == "tree" else None
    return tree_render(request, scope, cycle, params=request.GET, fragment=fragment)


@dataclass(frozen=True)
class RowUrl:
    """One URL of the tree's rows for any KR: reversed once for the page, then
    `url(kr.pk)` per row. A row has up to nine links and buttons; reversed per row, they
    were 18,000 reversals on the 2,000 KRs of the `cycle_tree` benchmark, a tenth of its
    time (docs/performance.md)."""

    head: str
    tail: str

    # A placeholder id, reversed once: its last occurrence is where a row's id goes (the
    # organization's slug comes before it, the URL's static tail after it).
    MARK = 9_007_199_254_740_993

    @classmethod
    def of(cls, name: str, org: str) -> "RowUrl":
        head, _, tail = reverse(name, args=[org, cls.MARK]).rpartition(str(cls.MARK))
        return cls(head, tail)

    def __call__(self, pk: int) -> str:
        return f"{self.head}{pk}{self.tail}"


ROW_URLS = (
    "plan-editor", "kr-history", "kr-alignment", "kr-agenda", "kr-structure",
    "kr-edit", "kr-move", "kr-archive", "kr-restore",
)  # fmt: skip


@dataclass(frozen=True)
class RowActions:
    """Where a row of the tree links to, and what the caller may do with it
    (hierarchy/permissions.py decides): each a URL, empty when it is not offered."""

    plan: str = ""
    history: str = ""
    combined: str = ""  # a shared KR's combined view
    agenda: str = ""  # a shared KR's alignment meeting
    structure: str = ""
    structure_label: str = ""
    edit: str = ""  # its form, with the tree's filters
    move: str = ""  # where the move buttons post (when it moves up or down)
    up: bool = False
    down: bool = False
    archive: str = ""
    restore: str = ""
    errors: tuple[str, ...] = ()
    focus: str = ""  # the button the last move pressed: it keeps the focus

    @property
    def any(self) -> bool:
        return bool(self.edit or self.up or self.down or self.archive or self.restore)


# What the tree never reads of its KRs' rows (a cycle of 2,000 KRs is 2,000 users,
# departments and plans made into instances: the `cycle_tree` benchmark).
TREE_DEFERRED = (
    "historical_ratio", "claimed_impact", "path", "created_at",
    "owner__password", "owner__last_login", "owner__is_superuser", "owner__email",
    "owner__is_staff", "owner__is_active", "owner__date_joined",
    "department__parent", "department__archived_at",
    "plan__effective_json", "plan__baseline", "plan__reference_target", "plan__submitted_at",
    "plan__updated_at",
)  # fmt: skip


def _tree_load(scope: Scope, cycle: Cycle, *, archived: bool) -> list:
    """The cycle's objectives with their KRs (owner, department, plan, check-ins) in
    two queries whatever the size; the archived ones only when asked for. A KR's cycle
    is its objective's (kept by the hierarchy services), so these are all the cycle's KRs.
    Only the columns the tree and its export read (`TREE_DEFERRED`); the check-ins are
    `_tree_actuals`'."""
    krs = (
        KeyResult.objects.filter(organization=scope.org)
        .select_related("owner", "department", "plan")
        .defer(*TREE_DEFERRED)
        .order_by("position", "id")
    )
    objectives = Objective.objects.filter(organization=scope.org, cycle=cycle)
    if not archived:
        krs = krs.filter(archived_at__isnull=True)
        objectives = objectives.filter(archived_at__isnull=True)
    return list(
        objectives.select_related("owner", "department")
        .prefetch_related(Prefetch("key_results", queryset=krs))
        .order_by("archived_at", "position", "id")
    )


def _tree_actuals(scope: Scope, cycle: Cycle, *, archived: bool) -> dict:
    """KR id → period → actual (the latest check-in of each period) of the cycle's KRs,
    in one query of plain values: made into instances and attached to their KRs, the
    9,600 check-ins of the benchmark's 2,000 KRs were half of the tree's read path
    (`cycle_tree`)."""
    checkins = CheckIn.objects.filter(organization=scope.org, kr__cycle=cycle)
    if not archived:
        checkins = checkins.filter(kr__archived_at__isnull=True)
    actuals: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for kr_id, period, value in checkins.order_by("period", "created_at", "id").values_list(
        "kr_id", "period", "value"
    ):
        actuals[kr_id][period] = value
    return actuals


def _person(user) -> str:
    return user.get_full_name() or user.username


def _filter_offer(form: TreeFilterForm, objectives: list, krs: list) -> None:
    """The departments and owners of what is shown, to filter by."""
    departments = {kr.department_id: kr.department.name for kr in krs}
    owners = {kr.owner.username: _person(kr.owner) for kr in krs}
    for o in objectives:
        owners.setdefault(o.owner.username, _person(o.owner))
    form.offer(
        departments=sorted(((str(k), v) for k, v in departments.items()), key=lambda c: c[1]),
        owners=sorted(owners.items(), key=lambda c: c[1].casefold()),
        statuses=list(STATUS_LABELS.items()),
    )


def _matches(row: TreeRow, filters: dict, shared_ids: set[int]) -> bool:
    kr = row.kr
    if "department" in filters and str(kr.department_id) != filters["department"]:
        return False
    if "owner" in filters and kr.owner.username != filters["owner"]:
        return False
    if "status" in filters and row.progress.status != filters["status"]:
        return False
    return not ("shared" in filters and kr.pk not in shared_ids)


def _filtered(rows: list[TreeRow], filters: dict, shared_ids: set[int]) -> list[TreeRow]:
    """The rows that match, each after its parents in this tree (shown as context)."""
    by_id = {row.kr.pk: row for row in rows}
    keep: dict[int, bool] = {}
    for row in rows:
        if _matches(row, filters, shared_ids):
            keep[row.kr.pk] = True
            parent = by_id.get(row.kr.parent_id)
            while parent is not None and parent.kr.pk not in keep:
                keep[parent.kr.pk] = False
                parent = by_id.get(parent.kr.parent_id)
    return [
        row if keep[row.kr.pk] else replace(row, context=True) for row in rows if row.kr.pk in keep
    ]


def _sibling_ends(rows: list[TreeRow]) -> tuple[set[int], set[int], set[int]]:
    """The first and the last of each group of siblings the tree shows, and all of them
    (a funnel's stages excepted: they are in stage order; archived rows left out)."""
    groups: dict[int | None, list[int]] = defaultdict(list)
    shown = {row.kr.pk: row.kr for row in rows}
    for row in rows:
        kr = row.kr
        if kr.archived_at is not None:
            continue
        parent = shown.get(kr.parent_id)
        if parent is not None and parent.objective_id == kr.objective_id:
            if parent.aggregation == Aggregation.SEQUENTIAL:
                continue
            groups[parent.pk].append(kr.pk)
        else:
            groups[None].append(kr.pk)
    members = {pk for g in groups.values() for pk in g}
    return {g[0] for g in groups.values()}, {g[-1] for g in groups.values()}, members


def _row_actions(
    scope: Scope,
    row: TreeRow,
    objective: Objective,
    ends,
    *,
    arrange: bool,
    notes,
    by_id,
    urls: dict[str, RowUrl],
    query: str,
):
    kr, (firsts, lasts, members) = row.kr, ends
    pk = kr.pk
    archived = kr.archived_at is not None
    movable = (
        arrange and pk in members and not archived and kr_can_move(scope, kr, objective=objective)
    )
    may_archive = kr_can_archive(scope, kr, has_children=row.is_parent)
    note = notes.get(("kr", pk), {})
    up, down = movable and pk not in firsts, movable and pk not in lasts
    # a contribution goes out through its parent's page (the service says so): not here
    archive = not archived and may_archive and kr.parent_id is None and not objective.archived_at
    # what comes back with its parent or its objective is restored with them
    restore = (
        archived
        and may_archive
        and not objective.archived_at
        and not getattr(by_id.get(kr.parent_id), "archived_at", None)
    )
    shared = kr.cross_functional
    return RowActions(
        plan=urls["plan-editor"](pk),
        history=urls["kr-history"](pk),
        combined=urls["kr-alignment"](pk) if shared else "",
        agenda=urls["kr-agenda"](pk) if shared else "",
        structure=urls["kr-structure"](pk) if not archived else "",
        structure_label="Contributions" if row.is_parent else "Make shared",
        edit=urls["kr-edit"](pk) + query if not archived and kr_can_edit(scope, kr) else "",
        move=urls["kr-move"](pk) if up or down else "",
        up=up,
        down=down,
        archive=urls["kr-archive"](pk) if archive else "",
        restore=urls["kr-restore"](pk) if restore else "",
        errors=tuple(note.get("errors", ())),
        focus=_focus(note.get("focus", ""), up=up, down=down),
    )


def _focus(pressed: str, *, up: bool, down: bool) -> str:
    """The move button that keeps the focus: the one pressed, or the other one when the
    row reached the end."""
    if not pressed:
        return ""
    if pressed == "up":
        return "up" if up else "down" if down else ""
    return "down" if down else "up" if up else ""


def cycle_sections(scope: Scope, cycle: Cycle, *, params, notes: dict | None = None):
    """The cycle tree as the page shows it, and its export: each objective with its
    progress and its KRs as rows with what the caller may do with them, filtered by
    `params` (the GET filters); with every KR loaded, the filter form and the filters."""
    filter_form = TreeFilterForm(params)
    archived = filter_form.show_archived()
    objectives = _tree_load(scope, cycle, archived=archived)
    krs = [kr for objective in objectives for kr in objective.key_results.all()]
    _filter_offer(filter_form, objectives, krs)
    filters = {k: v for k, v in filter_form.values().items() if k in TreeFilterForm.KR_FILTERS}
    actuals = _tree_actuals(scope, cycle, archived=archived)
    # `krs` holds every KR below each of them (the cycle's; a KR that counts in a parent
    # is archived only with it): a shared KR's progress is its contributions', with
    # nothing more to read
    progress_of = progress_map(
        organization_id=scope.org.pk, krs=krs, actuals=actuals, complete=True
    )
    trees = kr_tree(krs, progress_of)
    by_id = {kr.pk: kr for kr in krs}
    shared_ids = {kr.pk for kr in krs if kr.cross_functional}
    shared_ids |= {kr.pk for kr in krs if kr.parent_id in shared_ids}
    notes = notes or {}
    arrange = not filters  # moving among hidden siblings would surprise
    live_objectives = [o for o in objectives if o.archived_at is None]
    urls = {name: RowUrl.of(name, scope.org.slug) for name in ROW_URLS}
    query = filter_form.query()
    query = f"?{query}" if query else ""
    sections = []
    for objective in objectives:
        rows = trees.get(objective.pk, [])
        ends = _sibling_ends(rows)
        rows = [
            replace(
                row,
                actions=_row_actions(
                    scope,
                    row,
                    objective,
                    ends,
                    arrange=arrange,
                    notes=notes,
                    by_id=by_id,
                    urls=urls,
                    query=query,
                ),
            )
            for row in rows
        ]
        if filters:
            rows = _filtered(rows, filters, shared_ids)
            if not rows:
                continue
        live = [kr for kr in objective.key_results.all() if kr.archived_at is None]
        pct = objective_progress(
            [(kr.pk, kr.parent_id, kr.weight) for kr in live or objective.key_results.all()],
            progress_of,
        )
        may_edit = objective_can_edit(scope, objective)
        is_archived = objective.archived_at is not None
        index = next((i for i, o in enumerate(live_objectives) if o.pk == objective.pk), None)
        note = notes.get(("objective", objective.pk), {})
        movable = may_edit and arrange and index is not None
        up = movable and index > 0
        down = movable and index < len(live_objectives) - 1
        sections.append(
            {
                "objective": objective,
                "pct": pct,
                "progress": _pct(pct),
                "bar": max(Decimal(0), min(Decimal(100), pct or Decimal(0))),
                "rows": rows,
                "archived": is_archived,
                "can_edit": may_edit and not is_archived,
                "can_add_kr": scope.can_write and not is_archived,
                "up": up,
                "down": down,
                "can_archive": may_edit and not is_archived,
                "can_restore": may_edit and is_archived,
                "errors": note.get("errors", ()),
                "focus": _focus(note.get("focus", ""), up=up, down=down),
            }
        )
    return sections, krs, filter_form, filters


def tree_render(
    request,
    scope: Scope,
    cycle: Cycle,
    *,
    params,
    form: dict | None = None,
    notes: dict | None = None,
    notice: str = "",
    status: int = 200,
    fragment: str | None = None,
):
    """The cycle tree page, or for htmx its `tree` region: the objectives and their KRs
    (filtered by `params`, the GET filters), with `form` (an objective's or a KR's form,
    new or being edited, with what was typed and the errors) open in its place, `notes`
    (errors and focus of a row's action: `{("kr", id): {"errors": [...]}}`) and `notice`
    (what a write did, for htmx: a plain POST redirects with a message); `fragment`: the
    partial to answer instead of the page (`tree`, the region htmx swaps)."""
    sections, krs, filter_form, filters = cycle_sections(scope, cycle, params=params, notes=notes)
    if not hasattr(cycle, "is_current"):  # loaded by a write's page: not annotated
        current = cycle_current(org=scope.org)
        cycle.is_current = current is not None and current.pk == cycle.pk
    context = {
        "scope": scope,
        "org": scope.org,
        "cycle": cycle,
        "current": cycle.is_current,
        "periods": cycle.periods,
        "page": "tree",
        "objectives": sections,
        "kr_count": len(krs),
        "filter_form": filter_form,
        "filtered": bool(filters),
        "query": filter_form.query(),
        "can_add_objective": objective_can_create(scope),
        "form": form,
        "editing": form["id"] if form and form["kind"] == "kr-edit" else None,  # a KR's id
        "notice": notice,
        **(tree_form_choices(scope) if form else {}),
    }
    template = "plans/cycle_tree.html" + (f"#{fragment}" if fragment else "")
    return render(request, template, context, status=status)


def tree_form_choices(scope: Scope) -> dict:
    """What the objective and KR forms choose from: the members who may own (viewers may
    not) and the departments."""
    members = (
        scope.queryset(Membership)
        .exclude(role=Role.VIEWER)
        .select_related("user")
        .order_by("user__username")
    )
    return {
        "owners": [(m.user.username, _person(m.user)) for m in members],
        "departments": list(departments_active(org=scope.org).values_list("id", "name")),
        "metric_kinds": [
            (MetricKind.CUMULATIVE, "Cumulative (a flow)"),
            (MetricKind.LEVEL, "Level (at a moment)"),
        ],
    }


def cycle_tree_table(cycle: Cycle, sections: list[dict], krs: list[KeyResult]) -> Table:
    """The cycle tree as one table: a row per KR in the page's order (an objective without
    KRs gets a row of its own), its plan's values as one column per period."""
    periods = cycle.periods
    titles = {kr.pk: kr.title for kr in krs}
    header = [
        "Objective",
        "Objective progress (%)",
        "KR id",
        "Key result",
        "Level",
        "Contributes to",
        "Department",
        "Owner",
        "Unit",
        "Metric",
        "Aggregation",
        "Target",
        "Plan",
        "Progress",
        "Progress (%)",
        *[p.label for p in periods],
    ]
    rows = []
    for section in sections:
        objective = section["objective"]
        head = [objective.title, section["pct"]]
        if not section["rows"]:
            rows.append(head)
        for row in section["rows"]:
            kr = row.kr
            values = list(kr.plan.values)
            rows.append(
                [
                    *head,
                    kr.pk,
                    kr.title,
                    row.depth + 1,
                    titles.get(kr.parent_id, ""),
                    kr.department.name,
                    _person(kr.owner),
                    kr.unit,
                    kr.get_metric_kind_display(),
                    kr.get_aggregation_display() if row.is_parent else "",
                    kr.target,
                    kr.plan.get_status_display(),
                    row.status_label,
                    row.progress.progress_pct,
                    *[values[p.index] if p.index < len(values) else None for p in periods],
                ]
            )
    return Table(title=cycle.name, header=header, rows=rows)


@org_view
@require_GET
def cycle_tree_export(request, scope: Scope, cycle_id: int, fmt: str):
    """The cycle tree as CSV or XLSX, from what the page shows (`cycle_sections`, with
    the page's filters)."""
    cycle = scope.get(Cycle, cycle_id)
    sections, krs, _, _ = cycle_sections(scope, cycle, params=request.GET)
    return sheet_response(
        cycle_tree_table(cycle, sections, krs),
        fmt_=fmt,
        name=f"{scope.org.slug} {cycle.name}",
        fallback=f"cycle-{cycle.pk}",
    )


# --- The plan editor and check-ins (SPEC.md §6: the department lead's pages) ------


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
    checkin_form: CheckInForm | None = None,
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
    # a shared KR's actuals are its contributions' (plans/actuals.py)
    actuals, progress_, made = kr_effective(kr=kr, actuals={c.period: c.value for c in checkins})
    trajectory = burnup_view(
        kr=kr,
        actuals=actuals,
        made=made,
        contributions=kr.plan.effective_values if made else None,
        today=today,
    )
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
            "checkin_form": checkin_form or CheckInForm(),
            "burnup": trajectory,
            "actuals_made_of": made,
        },
        status=status,
    )


@org_view
def plan_editor(request, scope: Scope, kr_id: int):
    """The plan editor: GET shows it; POST with `live` answers the totals fragment as one
    types (nothing written); a plain POST saves through `plan_update` / `plan_apply_shape`
    (the API's validation), re-rendering what was typed with the error on a bad value."""
    kr = kr_get(org=scope.org, id=kr_id)
    if request.method == "GET":
        return _editor_page(request, scope, kr)
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST"])
    action = request.POST.get("action")
    plan_require_edit(scope, kr)  # submitting the saved plan is a plan edit too
    if action == "submit":
        return _plan_submit(request, scope, kr)
    form = PlanForm.of_post(kr, request.POST, action=action)
    if request.POST.get("live"):
        return fragment_response(
            "plans/plan_editor.html#totals", {"kr": kr, "figures": plan_figures(kr, form.raw)}
        )
    if not form.is_valid():
        return _editor_page(request, scope, kr, form=form, status=400)
    data = form.cleaned_data
    try:
        plan = services.plan_save(  # what the impact preview showed (`PlanForm.change`)
            kr=kr,
            change=form.change(),
            version=data["version"],
            actor=request.user,
            rationale=data["rationale"],
        )
    except StaleVersion as stale:
        form.stale_version = stale.current_version
        return _editor_page(request, scope, kr, form=form, status=409)
    except ValidationError as error:
        form.add_service_errors(error)
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
        form.submit_errors = error.messages
        return _editor_page(request, scope, kr, form=form, status=400)
    messages.success(request, "Submitted the plan: the parent owner can now lock it.")
    return redirect("plan-editor", scope.org.slug, kr.pk)


@org_view
@require_POST
def kr_checkin(request, scope: Scope, kr_id: int):
    """Record a check-in through `checkin_create`; a bad one re-renders the plan page."""
    kr = kr_get(org=scope.org, id=kr_id)
    kr_require_edit(scope, kr)
    form = CheckInForm(request.POST)
    if not form.is_valid():
        return _editor_page(request, scope, kr, checkin_form=form, status=400)
    period, value = form.cleaned_data["period"], form.cleaned_data["value"]
    try:
        services.checkin_create(
            kr=kr, period=period, value=value, author=request.user, note=form.cleaned_data["note"]
        )
    except ValidationError as error:
        form_add_service_errors(form, error)
        return _editor_page(request, scope, kr, checkin_form=form, status=400)
    label = kr.cycle.periods[period].label
    messages.success(request, f"Checked in {num(value)} {kr.unit} for {label}.")
    return redirect(reverse("plan-editor", args=[scope.org.slug, kr.pk]) + "#checkins")
