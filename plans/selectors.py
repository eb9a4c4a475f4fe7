"""Reads of the plans app: key results with their plan and progress, in few queries."""

from decimal import Decimal

from django.db.models import Prefetch, QuerySet

from hierarchy.models import Dependency, KeyResult, Objective, Organization
from plans.alignment import AlignmentInputs, ChildRow
from plans.checks import ChildFacts, Tolerances
from plans.models import CheckIn, Plan, PlanRevision
from plans.progress import Progress, progress, weighted_progress
from plans.services import rollup_child


def kr_queryset(org: Organization) -> QuerySet:
    """KRs of an organization with what their output shows: 2 queries for any number."""
    return (
        KeyResult.objects.filter(organization=org)
        .select_related("owner", "department", "plan")
        .prefetch_related(
            Prefetch(
                "checkins",
                queryset=CheckIn.objects.filter(organization=org).order_by(
                    "period", "created_at", "id"
                ),
            )
        )
    )


def kr_actuals(kr: KeyResult) -> dict[int, Decimal]:
    """Period → actual, the latest check-in of each period counting (uses the prefetch)."""
    actuals: dict[int, Decimal] = {}
    for checkin in kr.checkins.all():
        actuals[checkin.period] = checkin.value
    return actuals


def kr_progress(kr: KeyResult) -> Progress:
    return progress(
        metric_kind=kr.metric_kind,
        start_value=kr.start_value,
        target=kr.target,
        plan=kr.plan.values,
        actuals=kr_actuals(kr),
    )


def objective_queryset(org: Organization) -> QuerySet:
    return (
        Objective.objects.filter(organization=org)
        .select_related("owner", "department", "cycle")
        .prefetch_related(Prefetch("key_results", queryset=kr_queryset(org).order_by("id")))
    )


def objective_progress(objective: Objective) -> Decimal | None:
    """The weighted average of its KRs' progress (uses the prefetch)."""
    return weighted_progress(
        [(kr.weight, kr_progress(kr).progress_pct) for kr in objective.key_results.all()]
    )


def revision_list(*, org: Organization, kr: KeyResult) -> QuerySet:
    return (
        PlanRevision.objects.filter(organization=org, kr=kr)
        .select_related("actor")
        .order_by("created_at", "id")
    )


def alignment_inputs(
    *,
    org: Organization,
    kr: KeyResult,
    open_reviews: list[dict] | None = None,
    orphaned_rounds: list[dict] | None = None,
) -> AlignmentInputs:
    """What the combined view of `kr` is computed from: 2 queries, whatever its size.

    `kr` comes with its plan and owner loaded (see `kr_queryset`).
    """
    children = list(
        Plan.objects.filter(organization=org, kr__parent=kr)
        .select_related("kr__owner", "kr__department")
        .order_by("kr__stage", "kr_id")
    )
    ids = [p.kr_id for p in children]
    links = (
        list(
            Dependency.objects.filter(
                organization=org, upstream_id__in=ids, downstream_id__in=ids
            ).values_list("upstream_id", "downstream_id")
        )
        if len(ids) > 1
        else []
    )
    rows = [
        ChildRow(
            facts=ChildFacts(
                child=rollup_child(plan),
                title=plan.kr.title,
                department=plan.kr.department.name,
                values=plan.values,
                historical_ratio=plan.kr.historical_ratio,
            ),
            owner=plan.kr.owner.username,
            department_id=plan.kr.department_id,
            plan_status=plan.status,
        )
        for plan in children
    ]
    return AlignmentInputs(
        kr_id=kr.pk,
        title=kr.title,
        owner=kr.owner.username,
        unit=kr.unit,
        metric_kind=kr.metric_kind,
        aggregation=kr.aggregation,
        target=kr.target,
        start_value=kr.start_value,
        own_values=kr.plan.values,
        children=rows,
        tolerances=Tolerances(
            gap_pct=org.gap_tolerance_pct,
            funnel_pct=org.funnel_tolerance_pct,
            timing=org.timing_tolerance,
            overlap_factor=org.overlap_factor,
        ),
        baseline=kr.plan.baseline,
        links=links,
        open_reviews=open_reviews or [],
        orphaned_rounds=orphaned_rounds or [],
    )
