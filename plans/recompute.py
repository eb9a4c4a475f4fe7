"""A full recomputation of an organization's effective plans (SPEC.md §3).

The rollup service keeps the stored aggregates current one chain at a time;
this module recomputes every KR of an organization from scratch, children
before parents, with the pure math of `plans/rollup.py`, and reports (or
repairs) every stored effective plan that differs. One query reads the
organization's plans with their KRs, whatever the size of the organization.

The comparison streams: the rows come from the database a chunk at a time, each
KR after all of its descendants, and a KR's figures are dropped as soon as its
parent has used them. What stays in memory is a chunk of rows and the finished
children waiting for their parent, not the organization: the objects die young,
so CPython's cyclic collector no longer runs the full collections over every row
that made the time grow faster than the organization (docs/performance.md).
The repair locks every plan first (their ids only, in the order the rollup service
locks its chains in: root first), then streams the same way in that transaction.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import CharField, F, Value
from django.db.models.functions import Cast, Collate, Concat, Length

from hierarchy.models import Organization
from okrplan.lib import locks
from plans import rollup
from plans.models import Plan, decimals_from_json

# What the rollup reads of a KR, under its own names (`rollup.child_of`).
ROLLUP_KR = ("target", "metric_kind", "stage", "claimed_impact")
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
    *ROLLUP_KR,  # annotated: the KR's own names, as `rollup.child_of` reads them
)
_KR_NAMED = {name: F(f"kr__{name}") for name in ROLLUP_KR}  # the annotations
# What the streamed read adds to check its order (`_in_path_order`).
_PATHS = ("kr__path", "kr__parent__path")


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


Row = Any  # a named row of `_FIELDS` (and `_PATHS`): values_list(named=True)

CHUNK = 500  # rows per fetch of the streamed read: about 2 MB of rows in flight


class _OutOfOrder(Exception):
    """A KR's path disagrees with its parent's: the streamed order cannot be trusted."""


def _lock(org: Organization) -> None:
    """Lock every plan of the organization, root first (shorter path, then KR id): the
    order the rollup service locks its chains in (okrplan/lib/locks.py), so a repair and
    a save queue, never deadlock. Only the ids come back (a few bytes a plan); the rows
    are then read by `_streamed`."""
    plans = Plan.objects.filter(organization_id=org.pk, kr__organization_id=org.pk)
    plans = plans.order_by(Length("kr__path"), "kr_id").select_for_update(of=("self",))
    kr_ids = [kr_id for _, kr_id in plans.values_list("id", "kr_id")]
    locks.taking(locks.CHAIN, kr_ids)


def _streamed(org: Organization) -> Iterator[Row]:
    """Every plan of the organization with what the rollup reads of its KR (plain rows,
    not model instances), each KR after all of its descendants, `CHUNK` at a time.

    A KR's path and id ("12/40/" and 41 give "12/40/41/") begin the path of every one
    of its descendants, so in descending order of that key, compared byte by byte (the
    `C` collation on PostgreSQL, SQLite's default), each subtree comes as one run of
    rows that ends with its root. On PostgreSQL the rows come from a server-side cursor.
    """
    key = Concat("kr__path", Cast("kr_id", CharField()), Value("/"), output_field=CharField())
    if connection.vendor == "postgresql":
        key = Collate(key, "C")
    # The KRs' organization too: without it PostgreSQL joins every KR of every organization.
    plans = Plan.objects.filter(organization_id=org.pk, kr__organization_id=org.pk)
    rows = (
        plans.annotate(**_KR_NAMED).order_by(key.desc()).values_list(*_FIELDS, *_PATHS, named=True)
    )
    return rows.iterator(chunk_size=CHUNK)


def _in_path_order(rows: Iterator[Row]) -> Iterator[Row]:
    """The streamed rows, checked: the order holds children before parents only if every
    KR's path is its parent's path and id. Raises `_OutOfOrder` at the first that is not
    (a row at a time: nothing is kept to check the order)."""
    for row in rows:
        parent_id = row.kr__parent_id
        if parent_id is not None and row.kr__path != f"{row.kr__parent__path}{parent_id}/":
            raise _OutOfOrder(row.kr_id)
        yield row


def _bottom_up(rows: list[Row]) -> list[Row]:
    """The rows with every child before its parent, by their parent ids (not their paths)."""
    kr_ids = {row.kr_id for row in rows}
    children: dict[int, list[Row]] = {}
    top_down = []
    for row in rows:
        if row.kr__parent_id in kr_ids:
            children.setdefault(row.kr__parent_id, []).append(row)
        else:
            top_down.append(row)  # a root
    for row in top_down:  # breadth-first: the list grows while it is walked
        top_down.extend(children.get(row.kr_id, ()))
    return top_down[::-1]


def _recompute(rows: Iterable[Row]) -> tuple[int, list[tuple[Row, Mismatch]]]:
    """Recompute the effective plans of `rows`, which come with every child before its
    parent; the number of rows, and the rows that differ with their mismatch.

    A finished KR waits, as the `rollup.Child` its parent reads, only until its parent
    comes (a KR whose parent has no plan is a root, as in `_bottom_up`)."""
    waiting: dict[int, list[rollup.Child]] = {}  # finished KRs by the id of their parent
    found: list[tuple[Row, Mismatch]] = []
    krs = 0
    for row in rows:
        krs += 1
        parent_id = row.kr__parent_id
        expected = rollup.effective_values(
            aggregation=row.kr__aggregation,
            own_values=decimals_from_json(row.values_json),
            children=waiting.pop(row.kr_id, []),
        )
        if parent_id is not None:
            waiting.setdefault(parent_id, []).append(
                rollup.child_of(row, row, effective_values=expected)
            )
        stored = decimals_from_json(row.effective_json)
        if stored != expected:  # as Decimals: "1600000" == "1600000.00"
            mismatch = Mismatch(
                kr_id=row.kr_id, title=row.kr__title, stored=stored, expected=expected
            )
            found.append((row, mismatch))
    found.sort(key=lambda item: item[0].kr_id)
    return krs, found


def _compared(org: Organization) -> tuple[int, list[tuple[Row, Mismatch]]]:
    try:
        return _recompute(_in_path_order(_streamed(org)))
    except _OutOfOrder:  # a path disagrees with the parents: order by the parents
        return _recompute(_bottom_up(list(_streamed(org))))


def recompute_organization(*, org: Organization, write: bool) -> RecomputeReport:
    """Recompute every KR's effective plan of `org` from scratch and compare it with
    the stored one; with `write`, store the recomputed values of the plans that differ
    (one `bulk_update`, every plan locked first, in the rollup service's order)."""
    if not write:
        krs, found = _compared(org)
        return RecomputeReport(krs=krs, mismatches=[m for _, m in found])
    with transaction.atomic():
        _lock(org)
        krs, found = _compared(org)
        if found:
            plans = []
            for row, mismatch in found:
                plan = Plan(pk=row.id)
                plan.effective_values = mismatch.expected
                plans.append(plan)
            Plan.objects.bulk_update(plans, ["effective_json"])
    return RecomputeReport(krs=krs, mismatches=[m for _, m in found], written=bool(found))
