"""A full recomputation of an organization's effective plans (SPEC.md §3).

The rollup service keeps the stored aggregates current one chain at a time;
this module recomputes every KR of an organization from scratch, children
before parents, with the pure math of `plans/rollup.py`, and reports (or
repairs) every stored effective plan that differs. One query loads the
organization's plans with their KRs; everything else happens in memory, so the
cost is one query whatever the size of the organization.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction

from hierarchy.models import Organization
from plans import rollup
from plans.models import Plan, decimals_from_json

# What the rollup reads of a plan and its KR; nothing else is loaded.
_FIELDS = (
    "id",
    "kr_id",
    "values_json",
    "effective_json",
    "reference_target",
    "kr__title",
    "kr__parent_id",
    "kr__aggregation",
    "kr__metric_kind",
    "kr__target",
    "kr__stage",
    "kr__claimed_impact",
)


@dataclass(frozen=True)
class Mismatch:
    """A KR whose stored effective plan differs from a full recomputation."""

    kr_id: int
    title: str
    stored: list[Decimal]
    expected: list[Decimal]


@dataclass(frozen=True)
class RecomputeReport:
    krs: int  # key results recomputed (those with a plan)
    mismatches: list[Mismatch] = field(default_factory=list)
    written: bool = False  # the mismatching plans were stored with the recomputed values


Row = Any  # a named row of `_FIELDS` (values_list(named=True))


def _load(org: Organization, *, lock: bool) -> list[Row]:
    """Every plan of the organization with what the rollup reads of its KR, in one query.

    Read from the plan's side (an inner join): the rows the rollup service reads as
    children, and on PostgreSQL `FOR UPDATE` cannot lock the nullable side of the outer
    join `KeyResult.objects.select_related("plan")` would make. Locked in sorted KR-id
    order, the order the rollup service locks its chains in. Plain rows, not model
    instances: building 10,000 of each model costs several times the query itself.
    """
    plans = Plan.objects.filter(organization_id=org.pk).order_by("kr_id")
    if lock:
        plans = plans.select_for_update(of=("self",))
    return list(plans.values_list(*_FIELDS, named=True))


def _bottom_up(rows: list[Row]) -> tuple[list[Row], dict[int, list[Row]]]:
    """The rows with every child before its parent, and the children of each KR."""
    kr_ids = {row.kr_id for row in rows}
    children: dict[int, list[Row]] = defaultdict(list)
    top_down = []
    for row in rows:
        if row.kr__parent_id in kr_ids:
            children[row.kr__parent_id].append(row)
        else:
            top_down.append(row)  # a root
    for row in top_down:  # breadth-first: the list grows while it is walked
        top_down.extend(children.get(row.kr_id, ()))
    return top_down[::-1], children


def _recompute(rows: list[Row]) -> list[tuple[Row, Mismatch]]:
    """Recompute every effective plan in memory; the rows that differ, with their mismatch."""
    ordered, children = _bottom_up(rows)
    effective: dict[int, list[Decimal]] = {}
    found: list[tuple[Row, Mismatch]] = []
    for row in ordered:
        inputs = [
            rollup.Child(
                id=child.kr_id,
                target=child.kr__target,
                effective_values=effective[child.kr_id],
                metric_kind=child.kr__metric_kind,
                stage=child.kr__stage,
                reference_target=child.reference_target,
                claimed_impact=child.kr__claimed_impact,
            )
            for child in children.get(row.kr_id, ())
        ]
        expected = rollup.effective_values(
            aggregation=row.kr__aggregation,
            own_values=decimals_from_json(row.values_json),
            children=inputs,
        )
        effective[row.kr_id] = expected
        stored = decimals_from_json(row.effective_json)
        if stored != expected:  # as Decimals: "1600000" == "1600000.00"
            mismatch = Mismatch(
                kr_id=row.kr_id, title=row.kr__title, stored=stored, expected=expected
            )
            found.append((row, mismatch))
    found.sort(key=lambda item: item[0].kr_id)
    return found


def recompute_organization(*, org: Organization, write: bool) -> RecomputeReport:
    """Recompute every KR's effective plan of `org` from scratch and compare it with
    the stored one; with `write`, store the recomputed values of the plans that differ
    (one `bulk_update`, the plans locked while recomputing)."""
    if not write:
        rows = _load(org, lock=False)
        return RecomputeReport(krs=len(rows), mismatches=[m for _, m in _recompute(rows)])
    with transaction.atomic():
        rows = _load(org, lock=True)
        found = _recompute(rows)
        if found:
            plans = []
            for row, mismatch in found:
                plan = Plan(pk=row.id)
                plan.effective_values = mismatch.expected
                plans.append(plan)
            Plan.objects.bulk_update(plans, ["effective_json"])
    return RecomputeReport(krs=len(rows), mismatches=[m for _, m in found], written=bool(found))
