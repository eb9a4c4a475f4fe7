"""The combined view of a shared KR (API.md), computed from plain values: no ORM.

`alignment_build` takes what the selectors loaded (or what a preview would make
of it) and returns the aggregate, the children rows and the checks, so the
stored view and the preview are one computation.
"""

from dataclasses import dataclass, field, replace
from decimal import Decimal
from itertools import pairwise

from plans import checks, rollup
from plans.shapes import centroid


@dataclass(frozen=True)
class ChildRow:
    facts: checks.ChildFacts
    owner: str
    department_id: int
    plan_status: str
    unit: str = ""  # the child's own: its target and values are counted in it


@dataclass(frozen=True)
class AlignmentInputs:
    kr_id: int
    title: str
    owner: str
    unit: str
    metric_kind: str
    aggregation: str
    target: Decimal
    start_value: Decimal
    own_values: list[Decimal]
    children: list[ChildRow]
    tolerances: checks.Tolerances
    baseline: Decimal | None = None
    links: list[tuple[int, int]] = field(default_factory=list)
    open_reviews: list[dict] = field(default_factory=list)
    orphaned_rounds: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class Aggregate:
    """The shared KR's figures. `gap` is set when it has children (not for parallel),
    with `gap_pct` (None for a zero target); `implied_output` for a funnel; the claims
    for parallel contributions."""

    values: list[Decimal]
    total: Decimal
    implied_output: Decimal | None = None
    gap: Decimal | None = None
    gap_pct: Decimal | None = None  # two places
    raw_claim: Decimal | None = None
    discounted_claim: Decimal | None = None
    needed: Decimal | None = None


@dataclass(frozen=True)
class Contribution:
    """One child of the combined view. `stage`, `implied_target`, `ratio` and
    `historical_ratio` belong to a funnel's stages, `claimed_impact` to parallel ones."""

    id: int
    title: str
    department: int
    department_name: str
    owner: str
    target: Decimal
    values: list[Decimal]
    plan_status: str
    centroid: Decimal | None
    # its own unit: its target and values are in it (a funnel's stages, a parallel
    # contribution's metric), never the shared KR's; `claimed_impact` is the shared KR's
    unit: str = ""
    stage: int | None = None
    implied_target: Decimal | None = None
    ratio: Decimal | None = None
    historical_ratio: Decimal | None = None
    claimed_impact: Decimal | None = None


@dataclass(frozen=True)
class Alignment:
    aggregate: Aggregate
    children: list[Contribution]
    checks: list[checks.Check]
    effective_values: list[Decimal]
    total: Decimal


def with_child_plan(
    inputs: AlignmentInputs,
    *,
    kr_id: int,
    values: list[Decimal],
    effective: list[Decimal],
    target: Decimal,
) -> AlignmentInputs:
    """The inputs as they would be after one KR's plan became `values` (a preview).

    `kr_id` is a child (its row changes) or the KR itself (its own plan changes);
    `effective` is that KR's effective plan afterwards (its own plan, unless its
    children make it)."""
    if kr_id == inputs.kr_id:
        return replace(inputs, own_values=values, target=target)
    rows = []
    for row in inputs.children:
        if row.facts.child.id == kr_id:
            child = replace(row.facts.child, target=target, effective_values=effective)
            row = replace(row, facts=replace(row.facts, child=child, values=values))
        rows.append(row)
    return replace(inputs, children=rows)


def alignment_build(inputs: AlignmentInputs) -> Alignment:
    children = [row.facts.child for row in inputs.children]
    facts = [row.facts for row in inputs.children]
    tol = inputs.tolerances
    effective = rollup.effective_values(
        aggregation=inputs.aggregation, own_values=inputs.own_values, children=children
    )
    total = rollup.plan_total(inputs.metric_kind, effective)
    figures: dict = {}
    found: list[checks.Check] = []
    stages = {}
    if inputs.aggregation == "sequential" and children:
        funnel = rollup.funnel(children)
        stages = {stage.id: stage for stage in funnel}
        output = funnel[-1].implied_target
        gap, gap_pct = checks.gap_figures(inputs.target, output)
        figures.update(implied_output=output, gap=gap, gap_pct=gap_pct)
        found += checks.aggregate_gap(
            target=inputs.target,
            aggregate=output,
            unit=inputs.unit,
            tolerance_pct=tol.gap_pct,
            what="The funnel implies",
        )
    elif inputs.aggregation == "parallel" and children:
        claims = checks.parallel_figures(
            children=children,
            target=inputs.target,
            start_value=inputs.start_value,
            overlap=tol.overlap_factor,
        )
        figures.update(
            raw_claim=claims.raw_claim,
            discounted_claim=claims.discounted_claim,
            needed=claims.needed,
        )
        found += checks.parallel_checks(claims, inputs.unit, tol.overlap_factor)
    elif children:
        gap, gap_pct = checks.gap_figures(inputs.target, total)
        figures.update(gap=gap, gap_pct=gap_pct)
        found += checks.aggregate_gap(
            target=inputs.target,
            aggregate=total,
            unit=inputs.unit,
            tolerance_pct=tol.gap_pct,
            what="Contributions add up to",
        )
    if children:
        found += checks.missing_contributions(facts)
    links = list(inputs.links)
    if inputs.aggregation == "sequential":
        ordered = sorted(children, key=lambda c: (c.stage or 0, c.id))
        links += [(a.id, b.id) for a, b in pairwise(ordered)]
        found += checks.funnel_ratio_disconnects(facts, tol.funnel_pct)
    found += checks.timing_mismatches(facts, links, tol.timing)
    found += checks.cascade_pending(inputs.open_reviews)
    found += checks.orphaned_modifications(inputs.orphaned_rounds)

    rows = []
    for row in inputs.children:
        child = row.facts.child
        c = centroid(row.facts.values)
        extra: dict = {}
        if inputs.aggregation == "sequential":
            stage = stages.get(child.id)
            extra.update(
                stage=child.stage,
                implied_target=stage.implied_target if stage else None,
                ratio=stage.ratio if stage else None,
                historical_ratio=row.facts.historical_ratio,
            )
        if inputs.aggregation == "parallel":
            extra["claimed_impact"] = child.claimed_impact
        rows.append(
            Contribution(
                id=child.id,
                title=row.facts.title,
                department=row.department_id,
                department_name=row.facts.department,
                owner=row.owner,
                target=child.target,
                values=list(row.facts.values),
                plan_status=row.plan_status,
                unit=row.unit,
                centroid=rollup.q(c) if c is not None else None,
                **extra,
            )
        )
    return Alignment(
        aggregate=Aggregate(values=effective, total=total, **figures),
        children=rows,
        checks=found,
        effective_values=effective,
        total=total,
    )
