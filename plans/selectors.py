"""Reads of the plans app: key results with their plan and progress, in few queries."""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F, Prefetch, QuerySet
from django.http import Http404

from hierarchy.models import Dependency, KeyResult, Objective, Organization
from plans import rollup
from plans.actuals import (
    KrFacts,
    aggregates_actuals,
    children_by_parent,
    effective_actuals,
    facts_of,
    progress_all,
)
from plans.actuals import kr_progress as progress_of_facts
from plans.actuals import objective_progress as objective_progress_of
from plans.alignment import AlignmentInputs, ChildRow
from plans.checks import ChildFacts, Tolerances
from plans.models import CheckIn, PlanRevision, decimals_from_json
from plans.progress import Progress


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


# What the effective actuals read of a KR below the ones asked for, as a plain row.
FACT_FIELDS = (
    "id", "parent_id", "metric_kind", "aggregation", "stage", "start_value", "target",
    "unit", "plan__values_json",
)  # fmt: skip


def _fact_row(row) -> KrFacts:
    return facts_of(row, plan_values=decimals_from_json(row.plan__values_json))


def descendant_facts(
    *, organization_id: int, parents: list[KrFacts], known: set[int], every: bool = False
) -> dict[int, KrFacts]:
    """The KRs below `parents` whose actuals they aggregate (not below a parallel KR: it
    measures its own; `every`: those too), other than the `known` ones: one query a
    level, through the (organization, parent) index, plain rows; the last level's query
    finds none."""
    found: dict[int, KrFacts] = {}
    frontier = [kr.id for kr in parents if every or kr.aggregation != "parallel"]
    while frontier:
        rows = (
            KeyResult.objects.filter(
                organization_id=organization_id, parent_id__in=frontier, plan__isnull=False
            )
            .order_by("id")
            .values_list(*FACT_FIELDS, named=True)
        )
        frontier = []
        for row in rows:
            if row.id in known or row.id in found:
                continue
            found[row.id] = _fact_row(row)
            if every or row.aggregation != "parallel":
                frontier.append(row.id)
    return found


def actuals_of(*, organization_id: int, kr_ids: list[int]) -> dict[int, dict[int, Decimal]]:
    """KR id → period → actual (the latest check-in of each period): one query."""
    actuals: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for kr_id, period, value in (
        CheckIn.objects.filter(organization_id=organization_id, kr_id__in=kr_ids)
        .order_by("period", "created_at", "id")
        .values_list("kr_id", "period", "value")
    ):
        actuals[kr_id][period] = value
    return actuals


def _facts_and_actuals(
    organization_id: int,
    krs: list[KeyResult],
    actuals: dict[int, dict[int, Decimal]] | None,
    complete: bool,
) -> tuple[dict[int, KrFacts], dict[int, dict[int, Decimal]]]:
    facts = {kr.pk: facts_of(kr) for kr in krs}
    own = dict(actuals) if actuals is not None else {kr.pk: kr_actuals(kr) for kr in krs}
    if not complete and facts:
        more = descendant_facts(
            organization_id=organization_id, parents=list(facts.values()), known=set(facts)
        )
        if more:
            own.update(actuals_of(organization_id=organization_id, kr_ids=list(more)))
            facts.update(more)
    return facts, own


def progress_map(
    *,
    organization_id: int,
    krs: list[KeyResult],
    actuals: dict[int, dict[int, Decimal]] | None = None,
    complete: bool = False,
) -> dict[int, Progress]:
    """KR id → status and progress of each of `krs` (with their plans), a shared KR's
    from its contributions' actuals (plans/actuals.py, SPEC.md §3): the one
    computation of the pages and the API. `actuals`: the check-ins of `krs` (KR id →
    period → actual), else their prefetched `checkins` (`kr_queryset`). `complete`:
    `krs` holds every KR below each of them (the cycle tree): nothing more is read;
    else their descendants are (`descendant_facts`), with their check-ins in one more
    query when there are any."""
    facts, own = _facts_and_actuals(organization_id, krs, actuals, complete)
    every = progress_all(facts, own)
    return {kr.pk: every[kr.pk] for kr in krs}


def effective_actuals_map(
    *,
    organization_id: int,
    krs: list[KeyResult],
    actuals: dict[int, dict[int, Decimal]] | None = None,
) -> dict[int, dict[int, Decimal]]:
    """KR id → its effective actuals (period → actual: its own, or its contributions'
    as SPEC.md §3 aggregates them), for each of `krs` and every KR below them that
    counts in them; read as `progress_map` reads them."""
    facts, own = _facts_and_actuals(organization_id, krs, actuals, False)
    return effective_actuals(facts, own)


@dataclass(frozen=True)
class Subtree:
    """A KR and every KR below it that counts in it (`descendant_facts`): their facts,
    own check-ins, effective actuals and progress, by KR id."""

    facts: dict[int, KrFacts]
    actuals: dict[int, dict[int, Decimal]]
    effective: dict[int, dict[int, Decimal]]
    progress: dict[int, Progress]

    def made_of(self, kr_id: int) -> str | None:
        """How the KR's actuals are made: None (its own check-ins), "additive" or
        "sequential" (its contributions')."""
        kr = self.facts[kr_id]
        children = children_by_parent(self.facts).get(kr_id, [])
        return kr.aggregation if aggregates_actuals(kr, children) else None


def kr_subtree(
    *, kr: KeyResult, actuals: dict[int, Decimal] | None = None, every: bool = False
) -> Subtree:
    """`kr` (with its plan) and what counts in it (`every`: all below it, a parallel KR's
    contributions too): one query a level below it, and one for the check-ins of all
    (with the KR's own, unless `actuals` gives them)."""
    facts = {kr.pk: facts_of(kr)}
    below = descendant_facts(
        organization_id=kr.organization_id, parents=[facts[kr.pk]], known={kr.pk}, every=every
    )
    facts.update(below)
    wanted = [pk for pk in facts if actuals is None or pk != kr.pk]
    own = actuals_of(organization_id=kr.organization_id, kr_ids=wanted) if len(wanted) > 0 else {}
    if actuals is not None:
        own = {**own, kr.pk: actuals}
    effective = effective_actuals(facts, own)
    return Subtree(
        facts=facts,
        actuals=own,
        effective=effective,
        progress={pk: progress_of_facts(facts[pk], effective[pk]) for pk in facts},
    )


def kr_effective(
    *, kr: KeyResult, actuals: dict[int, Decimal]
) -> tuple[dict[int, Decimal], Progress, str | None]:
    """One KR's effective actuals (period → actual), its progress from them, and how they
    are made (`Subtree.made_of`). `actuals`: its own check-ins; its descendants' are read
    (`kr_subtree`: one query for a KR without contributions)."""
    tree = kr_subtree(kr=kr, actuals=actuals)
    return tree.effective[kr.pk], tree.progress[kr.pk], tree.made_of(kr.pk)


def objective_queryset(org: Organization) -> QuerySet:
    return (
        Objective.objects.filter(organization=org)
        .select_related("owner", "department", "cycle")
        .prefetch_related(Prefetch("key_results", queryset=kr_queryset(org).order_by("id")))
    )


def objectives_progress(objectives: list[Objective]) -> dict[int, Decimal | None]:
    """Objective id → its progress (plans/actuals.py::objective_progress) for all of
    `objectives` at once (their KRs prefetched: `objective_queryset`)."""
    krs = [kr for objective in objectives for kr in objective.key_results.all()]
    if not krs:
        return {objective.pk: None for objective in objectives}
    progress = progress_map(organization_id=krs[0].organization_id, krs=krs)
    return {
        objective.pk: objective_progress_of(
            [(kr.pk, kr.parent_id, kr.weight) for kr in objective.key_results.all()], progress
        )
        for objective in objectives
    }


def objective_progress(objective: Objective) -> Decimal | None:
    """The weighted average of its KRs' progress (uses the prefetch)."""
    return objectives_progress([objective])[objective.pk]


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


# What `rollup.child_of` reads of a KR and its plan, as the columns of one plain row (the
# children are many: model instances would cost more than the rollup).
CHILD_ROW = {
    "kr_id": F("id"),
    "reference_target": F("plan__reference_target"),
    "effective_json": F("plan__effective_json"),
}
CHILD_FIELDS = ("target", "metric_kind", "stage", "claimed_impact", *CHILD_ROW)


def _child(row) -> rollup.Child:
    """A row with `CHILD_FIELDS` is both the KR and the plan `child_of` reads."""
    return rollup.child_of(row, row, effective_values=decimals_from_json(row.effective_json))


def children_of(*, organization_id: int, parent_ids: list[int]) -> dict[int, list[rollup.Child]]:
    """What the rollup needs of the children of each of `parent_ids`, in funnel order:
    one query through the (organization, parent) index."""
    rows = (
        KeyResult.objects.filter(
            organization_id=organization_id, parent_id__in=parent_ids, plan__isnull=False
        )
        .annotate(**CHILD_ROW)
        .order_by("parent_id", "stage", "id")
        .values_list("parent_id", *CHILD_FIELDS, named=True)
    )
    children: dict[int, list[rollup.Child]] = defaultdict(list)
    for row in rows:
        children[row.parent_id].append(_child(row))
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
        .annotate(**CHILD_ROW)
        .order_by("stage", "id")
        .values_list(
            *CHILD_FIELDS,
            "title",
            "unit",
            "historical_ratio",
            "department_id",
            "department__name",
            "owner__username",
            "plan__values_json",
            "plan__status",
            named=True,
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
                child=_child(row),
                title=row.title,
                department=row.department__name,
                values=decimals_from_json(row.plan__values_json),
                historical_ratio=row.historical_ratio,
            ),
            owner=row.owner__username,
            department_id=row.department_id,
            plan_status=row.plan__status,
            unit=row.unit,
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
