"""Hot reads written by hand: the KR a plan request or a combined view is about, the two
reads of every plan save (the locked chain, and the children of its ancestors) and the
children of the combined view.

They run on every save and every view, so they are written once by hand
(`okrplan.lib.sql`) rather than compiled by the ORM on every call: the locking read
joins four tables and tests two `EXISTS`, and its compilation cost more than its
execution. What comes back is what the ORM would build: complete `Plan`, `KeyResult`,
`Cycle` and `Organization` instances, converted by Django's own converters.
"""

import functools
from collections import defaultdict

from django.contrib.auth import get_user_model
from django.db import connection

from hierarchy.models import Cycle, Department, Dependency, KeyResult, Organization
from okrplan.lib import locks
from okrplan.lib.sql import Columns, fetch_all, fetch_one, id_in_range, placeholders, split, table
from plans import rollup
from plans.models import Plan, decimals_from_json

_PLAN = Columns(Plan, "p")
_KR = Columns(KeyResult, "k")
_CYCLE = Columns(Cycle, "c")
_ORG = Columns(Organization, "o")
_CHILD = Columns(
    KeyResult, "k", ["id", "parent", "target", "metric_kind", "stage", "claimed_impact"]
)
_CHILD_PLAN = Columns(Plan, "p", ["effective_json", "reference_target"])
_VIEW_KR = Columns(
    KeyResult,
    "k",
    [
        "id",
        "title",
        "target",
        "metric_kind",
        "stage",
        "claimed_impact",
        "historical_ratio",
        "department",
    ],
)
_VIEW_DEPARTMENT = Columns(Department, "d", ["name"])
_DEPARTMENT = Columns(Department, "d")
_OWNER = Columns(get_user_model(), "u")
_VIEW_OWNER = Columns(get_user_model(), "u", ["username"])
_VIEW_PLAN = Columns(Plan, "p", ["values_json", "effective_json", "reference_target", "status"])


@functools.cache
def _chain_lock_sql(vendor: str, count: int) -> str:
    lock = " FOR UPDATE OF p" if connection.features.has_select_for_update_of else ""
    return (
        f"SELECT {_PLAN.sql}, {_KR.sql}, {_CYCLE.sql}, {_ORG.sql}, "
        f"EXISTS (SELECT 1 FROM {table(KeyResult)} ch WHERE ch.parent_id = p.kr_id), "
        f"EXISTS (SELECT 1 FROM {table(Dependency)} d WHERE d.upstream_id = p.kr_id "
        f"AND d.expected_value IS NOT NULL) "
        f"FROM {table(Plan)} p "
        f"JOIN {table(KeyResult)} k ON k.id = p.kr_id "
        f"JOIN {table(Cycle)} c ON c.id = k.cycle_id "
        f"JOIN {table(Organization)} o ON o.id = k.organization_id "
        f"WHERE p.organization_id = %s AND p.kr_id IN ({placeholders(count)}) "
        # root first: an ancestor's path is a prefix of its descendants' (okrplan/lib/locks.py)
        f"ORDER BY LENGTH(k.path), p.kr_id{lock}"
    )


@functools.cache
def _children_sql(vendor: str, count: int) -> str:
    return (
        f"SELECT {_CHILD.sql}, {_CHILD_PLAN.sql} "
        f"FROM {table(KeyResult)} k JOIN {table(Plan)} p ON p.kr_id = k.id "
        f"WHERE k.organization_id = %s AND k.parent_id IN ({placeholders(count)}) "
        f"ORDER BY k.parent_id, k.stage, k.id"
    )


def chain_lock(*, organization_id: int, kr_ids: list[int]) -> dict[int, Plan]:
    """Lock the plans of `kr_ids`, root first (shorter path, then KR id: the one lock
    order of okrplan/lib/locks.py, which comes before rounds and steps; concurrent saves
    of siblings queue on their common ancestors, holding nothing else, never deadlock),
    and return them by KR id, each with its KR, the KR's cycle and organization, and two
    facts: `has_children` and `has_expectations` (a registered dependency expects a
    number of this KR)."""
    locks.taking(locks.CHAIN, kr_ids)
    sql = _chain_lock_sql(connection.vendor, len(kr_ids))
    rows = fetch_all(sql, [organization_id, *kr_ids])
    chain = {}
    for row in rows:
        (plan_v, kr_v, cycle_v, org_v), (has_children, has_expectations) = split(
            row, _PLAN, _KR, _CYCLE, _ORG
        )
        plan, kr = _PLAN.instance(plan_v), _KR.instance(kr_v)
        kr.cycle, kr.organization = _CYCLE.instance(cycle_v), _ORG.instance(org_v)
        plan.kr = kr
        plan.has_children, plan.has_expectations = bool(has_children), bool(has_expectations)
        chain[kr.pk] = plan
    return chain


def chain_lock_of(kr: KeyResult) -> dict[int, Plan]:
    """Lock the chain of `kr` (its ancestors' plans and its own), root first: the first
    lock of every write that touches a KR's plan, its rounds or its steps."""
    return chain_lock(organization_id=kr.organization_id, kr_ids=[*kr.ancestor_ids, kr.pk])


def children_of(*, organization_id: int, parent_ids: list[int]) -> dict[int, list[rollup.Child]]:
    """What the rollup needs of the children of each of `parent_ids`, in funnel order:
    one statement through the (organization, parent) index, plain values."""
    sql = _children_sql(connection.vendor, len(parent_ids))
    rows = fetch_all(sql, [organization_id, *parent_ids])
    children: dict[int, list[rollup.Child]] = defaultdict(list)
    kr_convert, plan_convert = _CHILD.converter(), _CHILD_PLAN.converter()
    width = len(_CHILD)
    for row in rows:
        pk, parent_id, target, metric_kind, stage, claimed_impact = kr_convert(row[:width])
        effective, reference_target = plan_convert(row[width:])
        children[parent_id].append(
            rollup.Child(
                id=pk,
                target=target,
                effective_values=decimals_from_json(effective),
                metric_kind=metric_kind,
                stage=stage,
                reference_target=reference_target,
                claimed_impact=claimed_impact,
            )
        )
    return children


@functools.cache
def _view_children_sql(vendor: str) -> str:
    return (
        f"SELECT {_VIEW_KR.sql}, {_VIEW_DEPARTMENT.sql}, {_VIEW_OWNER.sql}, {_VIEW_PLAN.sql} "
        f"FROM {table(KeyResult)} k "
        f"JOIN {table(Plan)} p ON p.kr_id = k.id "
        f"JOIN {table(Department)} d ON d.id = k.department_id "
        f"JOIN {table(get_user_model())} u ON u.id = k.owner_id "
        f"WHERE k.organization_id = %s AND k.parent_id = %s "
        f"ORDER BY k.stage, k.id"
    )


def view_children(*, organization_id: int, parent_id: int) -> list[dict]:
    """The children of a KR as the combined view shows them, in funnel order: one
    statement through the (organization, parent) index, converted values by name
    (`department__name`, `owner__username`, `plan__…` as the ORM would name them)."""
    rows = fetch_all(_view_children_sql(connection.vendor), [organization_id, parent_id])
    groups = [
        (_VIEW_KR, _VIEW_KR.converter(), ""),
        (_VIEW_DEPARTMENT, _VIEW_DEPARTMENT.converter(), "department__"),
        (_VIEW_OWNER, _VIEW_OWNER.converter(), "owner__"),
        (_VIEW_PLAN, _VIEW_PLAN.converter(), "plan__"),
    ]
    names = [
        prefix + (field.attname if group is _VIEW_KR else field.name)
        for group, _, prefix in groups
        for field in group.fields
    ]
    out = []
    for row in rows:
        values, start = [], 0
        for group, convert, _ in groups:
            values += convert(row[start : start + len(group)])
            start += len(group)
        out.append(dict(zip(names, values, strict=True)))
    return out


@functools.cache
def _view_links_sql(vendor: str) -> str:
    return (
        f"SELECT l.upstream_id, l.downstream_id FROM {table(Dependency)} l "
        f"JOIN {table(KeyResult)} up ON up.id = l.upstream_id "
        f"JOIN {table(KeyResult)} down ON down.id = l.downstream_id "
        # The KRs named by organization too (row-level security's condition is never an
        # index's for the planner).
        f"WHERE l.organization_id = %s AND up.organization_id = %s AND up.parent_id = %s "
        f"AND down.organization_id = %s AND down.parent_id = %s "
        f"ORDER BY l.id"
    )


def view_links(*, organization_id: int, parent_id: int) -> list[tuple[int, int]]:
    """The registered dependencies between two children of `parent_id` (upstream,
    downstream), through the (organization, downstream) index."""
    rows = fetch_all(
        _view_links_sql(connection.vendor),
        [organization_id, organization_id, parent_id, organization_id, parent_id],
    )
    return [tuple(row) for row in rows]


@functools.cache
def _kr_sql(vendor: str) -> str:
    return (
        f"SELECT {_KR.sql}, {_CYCLE.sql}, {_DEPARTMENT.sql}, {_OWNER.sql}, {_PLAN.sql} "
        f"FROM {table(KeyResult)} k "
        f"JOIN {table(Cycle)} c ON c.id = k.cycle_id AND c.organization_id = k.organization_id "
        f"JOIN {table(Department)} d ON d.id = k.department_id "
        f"AND d.organization_id = k.organization_id "
        f"JOIN {table(get_user_model())} u ON u.id = k.owner_id "
        f"LEFT JOIN {table(Plan)} p ON p.kr_id = k.id AND p.organization_id = k.organization_id "
        f"WHERE k.organization_id = %s AND k.id = %s"
    )


def kr_read(*, org: Organization, pk: int) -> KeyResult | None:
    """KR `pk` of `org` with its cycle, department, owner and plan loaded (what
    `select_related` of the four would load: complete instances), or None when `org`
    has no such KR. One prepared statement: every plan request and every combined view
    starts with it."""
    if not id_in_range(KeyResult, pk):
        return None
    row = fetch_one(_kr_sql(connection.vendor), [org.pk, pk])
    if row is None:
        return None
    (kr_v, cycle_v, department_v, owner_v, plan_v), _ = split(
        row, _KR, _CYCLE, _DEPARTMENT, _OWNER, _PLAN
    )
    kr = _KR.instance(kr_v)
    kr.organization, kr.cycle = org, _CYCLE.instance(cycle_v)
    kr.department, kr.owner = _DEPARTMENT.instance(department_v), _OWNER.instance(owner_v)
    if plan_v[0] is None:  # no plan yet: `kr.plan` raises as after select_related
        KeyResult.plan.related.set_cached_value(kr, None)
    else:
        plan = _PLAN.instance(plan_v)
        plan.kr = kr  # both ways: `kr.plan.kr` is `kr`
    return kr
