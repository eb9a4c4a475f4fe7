"""The rollup math of SPEC.md §3: plain functions over plain values, no ORM.

A KR's *effective plan* is one value per period:
- additive: the per-period sum of its children's effective plans;
- sequential: the last stage's effective plan scaled to the funnel's implied output;
- parallel, or no children: its own plan.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

PLACES = Decimal("0.000001")  # stored precision of derived figures
ZERO = Decimal(0)


@dataclass(frozen=True)
class Child:
    """What the rollup needs of one child KR."""

    id: int
    target: Decimal
    effective_values: list[Decimal]
    metric_kind: str = "cumulative"
    stage: int | None = None
    reference_target: Decimal | None = None  # the stage's target at lock; None before
    claimed_impact: Decimal | None = None


def child_of(kr, plan, *, effective_values: list[Decimal] | None = None) -> Child:
    """The one way to make a `Child`: what the rollup reads of a KR and of its plan.

    `kr`: anything with a KR's `target`, `metric_kind`, `stage` and `claimed_impact` (a
    `KeyResult`, a named row, a deleted KR's event); `plan`: anything with a plan's
    `kr_id`, `reference_target` and, unless `effective_values` is given (a recomputed
    or a hypothetical plan), `effective_values`. The same object may be both (a named
    row of a plan with its KR's fields)."""
    return Child(
        id=plan.kr_id,
        target=kr.target,
        effective_values=plan.effective_values if effective_values is None else effective_values,
        metric_kind=kr.metric_kind,
        stage=kr.stage,
        reference_target=plan.reference_target,
        claimed_impact=kr.claimed_impact,
    )


@dataclass(frozen=True)
class Stage:
    id: int
    stage: int
    target: Decimal
    ratio: Decimal | None  # to the previous stage; None for the first
    implied_target: Decimal


def q(value: Decimal) -> Decimal:
    return value.quantize(PLACES, rounding=ROUND_HALF_EVEN)


def plan_total(metric_kind: str, values: list[Decimal]) -> Decimal:
    """What a plan amounts to: the sum of a flow, or the last value of a level."""
    if not values:
        return ZERO
    return sum(values, ZERO) if metric_kind == "cumulative" else values[-1]


def additive_values(children: list[Child], n: int) -> list[Decimal]:
    totals = [ZERO] * n
    for child in children:
        for i, value in enumerate(child.effective_values[:n]):
            totals[i] += value
    return totals


def funnel(children: list[Child]) -> list[Stage]:
    """Reference ratios and implied targets, stage by stage (SPEC.md §3, Sequential).

    ratio_j = target_j / target_(j−1) as they were at lock (both stages locked), or
    before lock as they are now; implied_1 = target_1; implied_j = implied_(j−1) × ratio_j.
    Ratios are not rounded, so locking leaves the implied output as it was.
    """
    stages: list[Stage] = []
    previous: Child | None = None
    implied = ZERO
    for child in sorted(children, key=lambda c: (c.stage or 0, c.id)):
        if previous is None:
            ratio = None
            implied = child.target
        else:
            if child.reference_target is not None and previous.reference_target is not None:
                ratio = _ratio(child.reference_target, previous.reference_target)
            else:
                ratio = _ratio(child.target, previous.target)
            implied = q(implied * ratio)
        stages.append(
            Stage(
                id=child.id,
                stage=child.stage or 0,
                target=child.target,
                ratio=q(ratio) if ratio is not None else None,
                implied_target=implied,
            )
        )
        previous = child
    return stages


def _ratio(target: Decimal, previous: Decimal) -> Decimal:
    return target / previous if previous else ZERO


def implied_output(children: list[Child]) -> Decimal:
    stages = funnel(children)
    return stages[-1].implied_target if stages else ZERO


def sequential_values(children: list[Child], n: int) -> list[Decimal]:
    """The last stage's effective plan scaled to the implied output."""
    if not children:
        return [ZERO] * n
    last = max(children, key=lambda c: (c.stage or 0, c.id))
    output = implied_output(children)
    base = plan_total(last.metric_kind, last.effective_values)
    if base == 0:
        return [ZERO] * n
    scale = output / base
    return [q(value * scale) for value in last.effective_values[:n]]


def effective_values(
    *, aggregation: str, own_values: list[Decimal], children: list[Child]
) -> list[Decimal]:
    n = len(own_values)
    if not children or aggregation == "parallel":
        return list(own_values)
    if aggregation == "sequential":
        return sequential_values(children, n)
    return additive_values(children, n)


def aggregate_total(
    *,
    aggregation: str,
    metric_kind: str,
    effective: list[Decimal],
    children: list[Child],
    overlap_factor: Decimal,
) -> Decimal:
    """The figure the upward threshold watches: the additive total, the implied
    output of a funnel, or the discounted claim of parallel contributions."""
    if aggregation == "sequential" and children:
        return implied_output(children)
    if aggregation == "parallel" and children:
        return q(raw_claim(children) * overlap_factor)
    return plan_total(metric_kind, effective)


def raw_claim(children: list[Child]) -> Decimal:
    return sum((c.claimed_impact or ZERO for c in children), ZERO)


def cascade_proposals(children: list[Child], changed_id: int) -> list[Stage]:
    """After the stage `changed_id` changed, the later stages whose implied target no
    longer equals their target: each gets a review with the implied target proposed.

    Before lock the ratios are the current targets' and nothing cascades."""
    stages = funnel(children)
    changed = next((s for s in stages if s.id == changed_id), None)
    if changed is None:
        return []
    return [s for s in stages if s.stage > changed.stage and s.implied_target != s.target]
