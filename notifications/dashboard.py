"""The organization's dashboard (issue 16 §1, docs/decisions.md): a cycle's shared KRs by
status and gap, its open rounds, overdue steps and missed check-ins, each a link.

Reads in a number of queries that does not grow with the number of KRs, rounds or steps
(tests/notifications/test_dashboard_page.py): the cycles (1), the shared KRs with their
check-ins (2),
their contributions' rollup rows (1), the KRs below them with their check-ins (a query a
level, and 1), the open rounds with their steps (2), the overdue steps (1), the missed
check-ins (1). Each list shows at most `SHOWN` and says how many more there are.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch
from django.utils import timezone

from hierarchy.models import Cycle, KeyResult, Organization
from notifications.models import Round, RoundStatus, Step, StepKind, StepState
from plans import rollup
from plans.checks import gap_figures
from plans.progress import STATUS_LABELS, Progress
from plans.selectors import children_of, kr_queryset, progress_map

SHOWN = 50
STATUS_ORDER = ("off_track", "at_risk", "on_track", "not_started")


@dataclass(frozen=True)
class SharedRow:
    kr: KeyResult
    progress: Progress
    gap: Decimal | None  # SPEC.md §3: positive when the plans fall short of the target
    gap_pct: Decimal | None
    gap_label: str  # what the gap measures ("plans add up to", "the funnel implies", …)

    @property
    def short(self) -> bool:
        return self.gap is not None and self.gap > 0


@dataclass(frozen=True)
class StatusGroup:
    status: str
    label: str
    rows: list[SharedRow]


@dataclass(frozen=True)
class Listed:
    """At most `SHOWN` items and how many more there are (`SHOWN + 1` read)."""

    items: list
    more: bool

    @classmethod
    def of(cls, rows) -> "Listed":
        rows = list(rows[: SHOWN + 1])
        return cls(items=rows[:SHOWN], more=len(rows) > SHOWN)

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True)
class Dashboard:
    cycle: Cycle | None
    groups: list[StatusGroup]
    shared_count: int
    shared_more: bool
    rounds: Listed
    overdue: Listed
    missed: Listed


def gap_of(kr: KeyResult, children: list[rollup.Child], overlap: Decimal):
    """SPEC.md §3's gap of a shared KR: target − its plans' aggregate (additive), target −
    the funnel's implied output (sequential), needed − the discounted claim (parallel)."""
    if not children:
        return None, None, ""
    if kr.aggregation == "sequential":
        gap, pct = gap_figures(kr.target, rollup.implied_output(children))
        return gap, pct, "the funnel implies"
    if kr.aggregation == "parallel":
        needed = kr.target - kr.start_value
        discounted = rollup.q(rollup.raw_claim(children) * overlap)
        gap, pct = gap_figures(needed, discounted)
        return gap, pct, "the discounted claims"
    total = rollup.plan_total(kr.metric_kind, kr.plan.effective_values)
    gap, pct = gap_figures(kr.target, total)
    return gap, pct, "the contributions plan"


def groups_by_status(rows: list[SharedRow]) -> list[StatusGroup]:
    """Off track first, then at risk, on track, not started; within each, the largest
    gap (as a share of the target) first."""

    def order(row: SharedRow):
        return (-(row.gap_pct if row.gap_pct is not None else Decimal(0)), row.kr.title)

    return [
        StatusGroup(
            status=status,
            label=STATUS_LABELS[status],
            rows=sorted((r for r in rows if r.progress.status == status), key=order),
        )
        for status in STATUS_ORDER
    ]


def dashboard_cycles(*, org: Organization) -> list[Cycle]:
    """The cycles the dashboard offers (not archived), newest first, each annotated
    `is_current`: one query."""
    from hierarchy.selectors import cycles_with_current

    return list(
        cycles_with_current(
            Cycle.objects.filter(organization=org, archived_at__isnull=True)
        ).order_by("-start", "-id")
    )


def dashboard_cycle(cycles: list[Cycle], cycle_id: int | None) -> Cycle | None:
    """The cycle asked for, else the current one, else the latest."""
    if cycle_id is not None:
        return next((c for c in cycles if c.pk == cycle_id), None)
    return next((c for c in cycles if c.is_current), cycles[0] if cycles else None)


def dashboard_get(*, org: Organization, cycle: Cycle | None) -> Dashboard:
    if cycle is None:
        empty = Listed([], False)
        return Dashboard(None, groups_by_status([]), 0, False, empty, empty, empty)
    shared = list(
        kr_queryset(org)
        .filter(cycle=cycle, cross_functional=True, archived_at__isnull=True)
        .order_by("title", "id")[: SHOWN + 1]
    )
    shared_more, shared = len(shared) > SHOWN, shared[:SHOWN]
    progress = progress_map(organization_id=org.pk, krs=shared)
    children = children_of(organization_id=org.pk, parent_ids=[kr.pk for kr in shared])
    rows = []
    for kr in shared:
        gap, pct, label = gap_of(kr, children.get(kr.pk, []), org.overlap_factor)
        rows.append(
            SharedRow(kr=kr, progress=progress[kr.pk], gap=gap, gap_pct=pct, gap_label=label)
        )

    now = timezone.now()
    steps = Step.objects.filter(organization=org, kr__cycle=cycle, state=StepState.OPEN)
    rounds = (
        Round.objects.filter(organization=org, parent_kr__cycle=cycle, status=RoundStatus.OPEN)
        .select_related("parent_kr", "modified_kr__department")
        .prefetch_related(
            Prefetch(
                "steps", queryset=Step.objects.select_related("assignee").order_by("due_at", "id")
            )
        )
        .order_by("started_at", "id")
    )
    overdue = (
        steps.filter(due_at__lt=now)
        .exclude(kind=StepKind.CHECKIN)
        .select_related("kr", "assignee", "department", "round")
        .order_by("due_at", "id")
    )
    missed = (
        steps.filter(kind=StepKind.CHECKIN)
        .select_related("kr", "assignee")
        .order_by("period", "kr__title", "id")
    )
    return Dashboard(
        cycle=cycle,
        groups=groups_by_status(rows),
        shared_count=len(rows),
        shared_more=shared_more,
        rounds=Listed.of(rounds),
        overdue=Listed.of(overdue),
        missed=Listed.of(missed),
    )
