"""Reads of the plans app: key results with their plan and progress, in few queries."""

from collections import defaultdict
from decimal import Decimal

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from hierarchy.models import Dependency, KeyResult, Objective, Organization
from plans import rollup
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


def kr_get(*, org: Organization, id: int) -> KeyResult:
    """KR `id` of `org` with its cycle, department, owner and plan (`kr.plan` raises
    `Plan.DoesNotExist` when it has none yet), for every API and page of one KR; 404
    alike for a foreign, a missing and a malformed id. Permission checks are the
    caller's."""
    try:
        kr = KeyResult.objects.select_related("cycle", "department", "owner", "plan").get(
            organization=org, pk=id
        )
    except (KeyResult.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    kr.organization = org
    return kr


def children_of(*, organization_id: int, parent_ids: list[int]) -> dict[int, list[rollup.Child]]:
    """What the rollup needs of the children of each of `parent_ids`, in funnel order:
    one query through the (organization, parent) index."""
    rows = (
        KeyResult.objects.filter(
            organization_id=organization_id, parent_id__in=parent_ids, plan__isnull=False
        )
        .order_by("parent_id", "stage", "id")
        .values_list(
            "id",
            "parent_id",
            "target",
            "metric_kind",
            "stage",
            "claimed_impact",
            "plan__effective_json",
            "plan__reference_target",
        )
    )
    children: dict[int, list[rollup.Child]] = defaultdict(list)
    for pk, parent_id, target, metric_kind, stage, claimed, effective, reference in rows:
        children[parent_id].append(
            rollup.Child(
                id=pk,
                target=target,
                effective_values=decimals_from_json(effective),
                metric_kind=metric_kind,
                stage=stage,
                reference_target=reference,
                claimed_impact=claimed,
            )
        )
    return children


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
    the computation). `kr` comes with its plan and owner loaded (`kr_get`)."""
    rows = list(
        KeyResult.objects.filter(organization=org, parent=kr, plan__isnull=False)
        .order_by("stage", "id")
        .values(
            "id",
            "title",
            "unit",
            "target",
            "metric_kind",
            "stage",
            "claimed_impact",
            "historical_ratio",
            "department_id",
            "department__name",
            "owner__username",
            "plan__values_json",
            "plan__effective_json",
            "plan__reference_target",
            "plan__status",
        )
    )
    # The registered dependencies between two children (the KRs named by organization
    # too: row-level security's condition is never an index's for the planner).
    links = (
        list(
            Dependency.objects.filter(
                organization=org,
                upstream__organization=org,
                upstream__parent=kr,
                downstream__organization=org,
                downstream__parent=kr,
            )
            .order_by("id")
            .values_list("upstream_id", "downstream_id")
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
            unit=row["unit"],
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
