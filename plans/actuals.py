"""A KR's *effective actuals*: the check-ins SPEC.md §3 aggregates, as the effective plan
aggregates plans. Plain functions over plain values, no ORM.

- no children, or `parallel`: the KR's own check-ins (a parallel parent measures its own
  metric, e.g. NPS; its contributions are beside it, not in it);
- `additive`: per period, the sum of its children's effective actuals;
- `sequential`: the last stage's effective actuals (what the funnel put out).

A shared KR's status and progress (SPEC.md §2) are then its effective actuals against its
own plan, which carries its target; an objective's progress is the weighted average of
its KRs that are not contributions of another of its KRs (docs/decisions.md, issue 16).
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from plans.progress import Progress, progress, weighted_progress

Actuals = dict[int, Decimal]  # period index → that period's actual (latest check-in)


@dataclass(frozen=True)
class KrFacts:
    """What the effective actuals and progress read of one KR."""

    id: int
    parent_id: int | None
    metric_kind: str
    aggregation: str
    stage: int | None
    start_value: Decimal
    target: Decimal
    plan: list[Decimal]
    unit: str = ""


def facts_of(kr, plan_values: list[Decimal] | None = None) -> KrFacts:
    """The facts of anything with a KR's fields (a `KeyResult` with its plan, a named
    row); `plan_values` when the plan is not `kr.plan.values`."""
    return KrFacts(
        id=kr.pk if hasattr(kr, "pk") else kr.id,
        parent_id=kr.parent_id,
        metric_kind=kr.metric_kind,
        aggregation=kr.aggregation,
        stage=kr.stage,
        start_value=kr.start_value,
        target=kr.target,
        plan=kr.plan.values if plan_values is None else plan_values,
        unit=getattr(kr, "unit", ""),
    )


def _stage_order(kr: KrFacts):
    return (kr.stage or 0, kr.id)


def children_by_parent(facts: Mapping[int, KrFacts]) -> dict[int, list[KrFacts]]:
    """Parent id → its children among `facts`, in funnel order."""
    children: dict[int, list[KrFacts]] = defaultdict(list)
    for kr in facts.values():
        if kr.parent_id is not None and kr.parent_id in facts:
            children[kr.parent_id].append(kr)
    for siblings in children.values():
        siblings.sort(key=_stage_order)
    return children


def aggregates_actuals(kr: KrFacts, children: list[KrFacts]) -> bool:
    """Whether `kr`'s actuals are its children's (additive, sequential) or its own."""
    return bool(children) and kr.aggregation in ("additive", "sequential")


def additive_actuals(children: list[tuple[KrFacts, Actuals]]) -> Actuals:
    """Per period, the sum of the children's actuals, for each period one of them has
    checked in. A flow counts 0 in a period without a check-in (as in SPEC.md §2's
    progress); a level counts its latest earlier actual, else its start value."""
    periods = sorted({p for _, actuals in children for p in actuals})
    summed: Actuals = {}
    for p in periods:
        total = Decimal(0)
        for child, actuals in children:
            if child.metric_kind == "level":
                earlier = [q for q in actuals if q <= p]
                total += actuals[max(earlier)] if earlier else child.start_value
            else:
                total += actuals.get(p, Decimal(0))
        summed[p] = total
    return summed


def effective_actuals(
    facts: Mapping[int, KrFacts], actuals: Mapping[int, Mapping[int, Decimal]]
) -> dict[int, Actuals]:
    """KR id → its effective actuals, for every KR of `facts` (which holds each parent's
    children: a child missing from it does not count). `actuals`: KR id → its own
    check-ins (period → actual)."""
    children = children_by_parent(facts)
    done: dict[int, Actuals] = {}

    def of(kr: KrFacts, seen: frozenset[int]) -> Actuals:
        if kr.id in done:
            return done[kr.id]
        kids = [c for c in children.get(kr.id, []) if c.id not in seen]  # never loop
        if not aggregates_actuals(kr, kids):
            result = dict(actuals.get(kr.id, {}))
        elif kr.aggregation == "sequential":
            result = dict(of(kids[-1], seen | {kr.id}))
        else:
            result = additive_actuals([(c, of(c, seen | {kr.id})) for c in kids])
        done[kr.id] = result
        return result

    for kr in facts.values():
        of(kr, frozenset())
    return done


def kr_progress(kr: KrFacts, actuals: Actuals) -> Progress:
    return progress(
        metric_kind=kr.metric_kind,
        start_value=kr.start_value,
        target=kr.target,
        plan=kr.plan,
        actuals={p: v for p, v in actuals.items() if 0 <= p < len(kr.plan)},
    )


def progress_all(
    facts: Mapping[int, KrFacts], actuals: Mapping[int, Mapping[int, Decimal]]
) -> dict[int, Progress]:
    """KR id → its progress from its effective actuals, for every KR of `facts`."""
    effective = effective_actuals(facts, actuals)
    return {kr_id: kr_progress(kr, effective[kr_id]) for kr_id, kr in facts.items()}


def objective_progress(
    krs: Iterable[tuple[int, int | None, Decimal]], progress_of: Mapping[int, Progress]
) -> Decimal | None:
    """The weighted average progress of an objective's KRs, given as (id, parent id,
    weight): a KR whose parent is a KR of the same objective is counted in its parent's
    progress already, so only the others count (SPEC.md §2, docs/decisions.md)."""
    krs = list(krs)
    ids = {kr_id for kr_id, _, _ in krs}
    return weighted_progress(
        [
            (weight, progress_of[kr_id].progress_pct)
            for kr_id, parent_id, weight in krs
            if parent_id not in ids and kr_id in progress_of
        ]
    )
