"""Reads of the plans app: key results with their plan and progress, in few queries."""

from decimal import Decimal

from django.db.models import Prefetch, QuerySet

from hierarchy.models import Dependency, KeyResult, Objective, Organization
from plans import chain, rollup
from plans.alignment import AlignmentInputs, ChildRow
from plans.checks import ChildFacts, Tolerances
from plans.models import CheckIn, PlanRevision, decimals_from_json
from plans.progress import Progress, progress, weighted_progress


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
    """What the combined view of `kr` is computed from: 2 queries, whatever its size,
    reading plain rows (the children are many; model instances would cost more than
    the computation). `kr` comes with its plan and owner loaded."""
    rows = chain.view_children(organization_id=org.pk, parent_id=kr.pk)
    # The registered dependencies between two children (through the (organization,
    # downstream) index; no list of ids, which costs the driver more than the query).
    # The KRs are named by organization too: the planner never uses row-level security's
    # condition as an index's, and would otherwise read them by parent alone.
    links = (
        list(
            Dependency.objects.filter(
                organization=org,
                upstream__organization=org,
                upstream__parent_id=kr.pk,
                downstream__organization=org,
                downstream__parent_id=kr.pk,
            ).values_list("upstream_id", "downstream_id")
        )
        if len(rows) > 1
        else []
    )
    children = [
        ChildRow(
            facts=ChildFacts(
                child=rollup.Child(
                    id=row["id"],
                    target=row["target"],
                    effective_values=decimals_from_json(row["plan__effective_json"]),
                    metric_kind=row["metric_kind"],
                    stage=row["stage"],
                    reference_target=row["plan__reference_target"],
                    claimed_impact=row["claimed_impact"],
                ),
                title=row["title"],
                department=row["department__name"],
                values=decimals_from_json(row["plan__values_json"]),
                historical_ratio=row["historical_ratio"],
            ),
            owner=row["owner__username"],
            department_id=row["department_id"],
            plan_status=row["plan__status"],
        )
        for row in rows
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
        children=children,
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
