"""Query budgets of the rollup (SPEC.md §3): a plan save costs the same statements
whatever the depth of the tree and the number of siblings; a full recomputation costs
the same whatever the size or the depth of the organization."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hierarchy import services as hs
from hierarchy.models import KeyResult
from plans import services as ps
from plans.models import Plan
from plans.recompute import recompute_organization
from tests.planning import set_plan

D = Decimal


class Trees:
    """KR trees in acme's Q1 2026 (monthly), built through `kr_create`."""

    def __init__(self, world, org=None, owner=None, department=None):
        self.org = org or world.org
        self.owner = owner or world.owner
        self.department = department or world.sales
        cycle = hs.cycle_create(
            org=self.org,
            name="Q1 2026",
            start=date(2026, 1, 1),
            end=date(2026, 3, 31),
            granularity="month",
        )
        self.objective = hs.objective_create(
            org=self.org, cycle=cycle, title="Grow", owner=self.owner
        )

    def kr(self, title: str, parent: KeyResult | None = None) -> KeyResult:
        return hs.kr_create(
            org=self.org,
            objective=self.objective,
            title=title,
            owner=self.owner,
            department=self.department,
            unit="u",
            metric_kind="cumulative",
            target=D(0),
            parent=parent,
        )

    def leaves(self, parent: KeyResult, count: int) -> list[KeyResult]:
        return [self.kr(f"{parent.title} / {i}", parent) for i in range(count)]

    def siblings(self, count: int) -> list[KeyResult]:
        """A root with `count` children (depth 2); the children."""
        return self.leaves(self.kr(f"Root of {count}"), count)

    def deep(self, count: int) -> list[KeyResult]:
        """A root, a middle KR, and `count` children of the middle KR (depth 3)."""
        root = self.kr("Deep root")
        return self.leaves(self.kr("Middle", root), count)


def queries_of_a_save(kr: KeyResult, values) -> int:
    """The queries of one `plan_update` of the KR's plan."""
    kr.refresh_from_db()
    version = Plan.objects.get(kr=kr).version
    with CaptureQueriesContext(connection) as queries:
        ps.plan_update(kr=kr, values=[D(v) for v in values], version=version, actor=kr.owner)
    return len(queries)


def save_second_leaf(leaves: list[KeyResult]) -> int:
    """Queries of a save of the second leaf, the first saved before (a warm-up: both
    trees then save from the same state)."""
    set_plan(leaves[0], [1, 1, 1])
    return queries_of_a_save(leaves[1], [1, 2, 3])


@pytest.fixture
def trees(world) -> Trees:
    return Trees(world)


def test_it_costs_the_same_queries_with_3_and_with_100_siblings(trees):
    few = save_second_leaf(trees.siblings(3))
    many = save_second_leaf(trees.siblings(100))

    assert few == many


def test_it_costs_the_same_queries_in_a_deeper_tree(trees):
    shallow = save_second_leaf(trees.siblings(3))
    deep = save_second_leaf(trees.deep(3))

    assert deep == shallow


def test_it_saves_a_plan_in_the_same_statements_whatever_the_depth(trees):
    """The locking read of the chain, the children of every ancestor in one read, then
    the writes: the plan, the KR's target, every ancestor's effective plan in one
    statement (`bulk_update`), the revision. Around them, the test's savepoint."""
    leaves = trees.deep(3)
    set_plan(leaves[0], [1, 1, 1])
    kr = KeyResult.objects.select_related("owner").get(pk=leaves[1].pk)
    version = Plan.objects.get(kr=kr).version

    with CaptureQueriesContext(connection) as queries:
        ps.plan_update(kr=kr, values=[D(1), D(2), D(3)], version=version, actor=kr.owner)

    statements = [q["sql"].split(" ", 1)[0] for q in queries.captured_queries]
    writes = ["UPDATE"] * 3 + ["INSERT"]
    assert statements == ["SAVEPOINT", "SELECT", "SELECT", *writes, "RELEASE"]
    assert Plan.objects.get(kr=leaves[0].parent.parent).effective_values == [D(2), D(3), D(4)]
    assert recompute_organization(org=trees.org, write=False).mismatches == []


def test_it_updates_the_ancestors_of_the_saved_plan_only(trees):
    leaves = trees.deep(3)
    middle = leaves[0].parent
    root = middle.parent
    other = trees.siblings(3)  # another tree: untouched

    set_plan(leaves[1], [1, 2, 3])

    assert Plan.objects.get(kr=middle).effective_values == [D(1), D(2), D(3)]
    assert Plan.objects.get(kr=root).effective_values == [D(1), D(2), D(3)]
    assert Plan.objects.get(kr=other[0].parent).effective_values == [D(0)] * 3
    assert recompute_organization(org=trees.org, write=False).mismatches == []


def _recompute_queries(org) -> int:
    with CaptureQueriesContext(connection) as queries:
        recompute_organization(org=org, write=False)
    return len(queries)


def test_it_recomputes_small_and_large_organizations_in_the_same_queries(world, trees):
    small = Trees(
        world, org=world.other_org, owner=world.outsider, department=world.other_department
    )
    set_plan(small.siblings(3)[0], [1, 2, 3])
    set_plan(trees.siblings(100)[0], [1, 2, 3])
    set_plan(trees.deep(3)[0], [1, 2, 3])

    assert _recompute_queries(world.other_org) == _recompute_queries(world.org) == 1
    assert recompute_organization(org=world.other_org, write=False).krs == 4
    assert recompute_organization(org=world.org, write=False).krs == 101 + 5
