"""Browser pages of the plans app: the cycles of an organization and a cycle's KR tree."""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count
from django.shortcuts import render
from django.utils import timezone

from hierarchy.models import Cycle, KeyResult
from hierarchy.scope import Scope, org_view
from plans.checks import num
from plans.progress import Progress
from plans.selectors import kr_progress, objective_progress, objective_queryset

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
def cycle_list(request, scope: Scope):
    cycles = (
        scope.queryset(Cycle)
        .annotate(
            objective_count=Count("objectives", distinct=True),
            kr_count=Count("key_results", distinct=True),
        )
        .order_by("-start", "-id")
    )
    today = timezone.localdate()
    return render(
        request,
        "plans/cycle_tree.html",
        {
            "page": "list",
            "scope": scope,
            "org": scope.org,
            "cycles": [
                {"cycle": c, "current": c.start <= today <= c.end, "periods": len(c.periods)}
                for c in cycles
            ],
        },
    )


@org_view
def cycle_tree(request, scope: Scope, cycle_id: int):
    cycle = scope.get(Cycle, cycle_id)
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
    today = timezone.localdate()
    return render(
        request,
        "plans/cycle_tree.html",
        {
            "scope": scope,
            "org": scope.org,
            "cycle": cycle,
            "current": cycle.start <= today <= cycle.end,
            "periods": cycle.periods,
            "page": "tree",
            "objectives": sections,
            "kr_count": len(krs),
        },
    )
