"""Reads of the plans app: key results with their plan and progress, in few queries."""

from decimal import Decimal

from django.db.models import Prefetch, QuerySet

from hierarchy.models import KeyResult, Objective, Organization
from plans.models import CheckIn, PlanRevision
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
