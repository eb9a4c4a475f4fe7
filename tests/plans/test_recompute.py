"""plans.recompute and `manage.py recompute`: stored aggregates equal a full recomputation."""

import gc
import tracemalloc
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench.data import org_build
from hierarchy import services as hs
from hierarchy.models import KeyResult
from plans import services as ps
from plans.models import Plan
from plans.recompute import CHUNK, Mismatch, recompute_organization
from tests.planning import make_kr, set_plan

D = Decimal


def run(*args) -> str:
    out = StringIO()
    call_command("recompute", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def corrupt(kr, values) -> None:
    Plan.objects.filter(kr=kr).update(effective_json=values)


def test_it_verifies_the_planning_fixture(planning, world):
    report = recompute_organization(org=world.org, write=False)

    assert report.krs == 4
    assert report.mismatches == []
    assert run("--org", "acme", "--verify").strip() == (
        "ok: 4 key results, stored aggregates equal a full recomputation"
    )


def test_it_compares_decimal_values_not_strings(planning, world):
    corrupt(planning.pipeline, ["1600000.00", "1700000.000", "1700000"])

    assert recompute_organization(org=world.org, write=False).mismatches == []


def test_it_reports_a_corrupted_aggregate_and_exits_1(planning, world):
    corrupt(planning.pipeline, ["1600000", "1700000", "1700001"])
    out = StringIO()

    with pytest.raises(CommandError) as error:
        call_command("recompute", "--org", "acme", "--verify", stdout=out)

    assert error.value.returncode == 1
    assert "1 of 4 key results" in str(error.value)
    line = out.getvalue().strip()
    assert line.startswith(f"KR {planning.pipeline.pk} 'Generate $5M in new pipeline'")
    assert "stored [1600000, 1700000, 1700001]" in line
    assert "expected [1600000, 1700000, 1700000]" in line
    # --verify wrote nothing
    assert Plan.objects.get(kr=planning.pipeline).effective_json[-1] == "1700001"


def test_it_repairs_a_corrupted_aggregate(planning, world):
    corrupt(planning.pipeline, ["1600000", "1700000", "1700001"])

    assert run("--org", "acme").strip() == "recomputed 4 key results of acme: 1 changed"

    assert Plan.objects.get(kr=planning.pipeline).effective_values == [
        D(1600000),
        D(1700000),
        D(1700000),
    ]
    assert "ok: 4 key results" in run("--org", "acme", "--verify")
    assert run("--org", "acme").strip() == "recomputed 4 key results of acme: 0 changed"


def test_it_repairs_from_the_leaves_up(planning, world):
    """A wrong leaf is repaired first, and its parent is recomputed from the repaired leaf."""
    corrupt(planning.sales_kr, ["0", "0", "0"])
    corrupt(planning.pipeline, ["0", "0", "0"])

    report = recompute_organization(org=world.org, write=True)

    assert report.written
    assert report.mismatches == [
        Mismatch(
            kr_id=planning.pipeline.pk,
            title="Generate $5M in new pipeline",
            stored=[D(0)] * 3,
            expected=[D(1600000), D(1700000), D(1700000)],
        ),
        Mismatch(
            kr_id=planning.sales_kr.pk,
            title="Sales outbound pipeline",
            stored=[D(0)] * 3,
            expected=[D(500000)] * 3,
        ),
    ]
    assert recompute_organization(org=world.org, write=False).mismatches == []


def test_it_does_not_touch_other_organizations(planning, world):
    corrupt(planning.pipeline, ["1", "2", "3"])

    report = recompute_organization(org=world.other_org, write=True)

    assert report.krs == 0
    assert report.mismatches == []
    assert Plan.objects.get(kr=planning.pipeline).effective_json == ["1", "2", "3"]


def test_it_recomputes_a_funnel_and_parallel_contributions(world):
    cycle = hs.cycle_create(
        org=world.org, name="Q1", start=date(2026, 1, 1), end=date(2026, 3, 31), granularity="month"
    )
    objective = hs.objective_create(org=world.org, cycle=cycle, title="O", owner=world.owner)
    funnel = make_kr(world, objective, title="Deals", unit="deals", aggregation="sequential")
    leads = make_kr(world, objective, title="Leads", unit="leads", parent=funnel, stage=1)
    deals = make_kr(world, objective, title="Won", unit="deals", parent=funnel, stage=2)
    nps = make_kr(world, objective, title="NPS", unit="pts", aggregation="parallel", target=D(6))
    make_kr(world, objective, title="Support", unit="pts", parent=nps, claimed_impact=D(3))
    set_plan(leads, [100, 100, 100])
    set_plan(deals, [10, 10, 13])
    set_plan(nps, [1, 2, 3])
    corrupt(funnel, ["0", "0", "0"])
    corrupt(nps, ["0", "0", "0"])

    report = recompute_organization(org=world.org, write=True)

    assert [(m.kr_id, m.expected) for m in report.mismatches] == [
        (funnel.pk, [D(10), D(10), D(13)]),
        (nps.pk, [D(1), D(2), D(3)]),
    ]
    assert recompute_organization(org=world.org, write=False).mismatches == []


def test_it_errors_on_an_unknown_organization(db):
    with pytest.raises(CommandError, match="'nope'"):
        run("--org", "nope", "--verify")
    with pytest.raises(CommandError, match="'nope'"):
        run("--org", "nope")


def _tree(world, objective, *, width: int) -> None:
    root = make_kr(world, objective, title="Root", unit="u")
    for i in range(width):
        mid = make_kr(world, objective, title=f"Mid {i}", unit="u", parent=root)
        for j in range(width):
            make_kr(world, objective, title=f"Leaf {i}.{j}", unit="u", parent=mid)


def _queries(org, *, write: bool) -> int:
    with CaptureQueriesContext(connection) as queries:
        recompute_organization(org=org, write=write)
    return len(queries)


def test_it_costs_the_same_queries_for_a_small_and_a_larger_organization(planning, world):
    small_read = _queries(world.org, write=False)
    corrupt(planning.pipeline, ["1", "2", "3"])
    corrupt(planning.sales_kr, ["1", "2", "3"])
    small_repair = _queries(world.org, write=True)
    _tree(world, planning.objective, width=6)  # 43 more key results
    corrupt(planning.pipeline, ["1", "2", "3"])
    corrupt(planning.sales_kr, ["1", "2", "3"])

    assert _queries(world.org, write=False) == small_read == 1
    with CaptureQueriesContext(connection) as repair:
        report = recompute_organization(org=world.org, write=True)

    assert report.krs == 4 + 1 + 6 + 36
    assert len(report.mismatches) == 2
    assert len(repair) == small_repair
    # the lock (ids only), the streamed read (a server-side cursor on PostgreSQL) and one
    # bulk update, in a savepoint of the test's transaction
    streamed = "DECLARE" if connection.vendor == "postgresql" else "SELECT"
    statements = [q["sql"].split()[0] for q in repair]
    assert statements == ["SAVEPOINT", "SELECT", streamed, "UPDATE", "RELEASE"]
    assert "FOR UPDATE" in repair[1]["sql"] or connection.vendor == "sqlite"


def test_it_is_a_noop_to_recompute_a_locked_plan(planning, world):
    ps.plan_lock(kr=planning.pipeline, actor=world.admin)

    assert recompute_organization(org=world.org, write=False).mismatches == []


def test_it_recomputes_right_when_a_path_disagrees_with_the_parents(planning, world):
    """The comparison streams the KRs in the order of their paths; a path that no longer
    names the KR's parent would bring a child after its parent, so the recompute falls
    back to the order of the parent ids."""
    KeyResult.objects.filter(pk=planning.sales_kr.pk).update(path="0/")  # sorts last

    assert recompute_organization(org=world.org, write=False).mismatches == []

    corrupt(planning.pipeline, ["0", "0", "0"])
    assert recompute_organization(org=world.org, write=False).mismatches == [
        Mismatch(
            kr_id=planning.pipeline.pk,
            title="Generate $5M in new pipeline",
            stored=[D(0)] * 3,
            expected=[D(1600000), D(1700000), D(1700000)],
        )
    ]


def _recompute_peak(org, *, write: bool = False) -> tuple[int, int, int]:
    """KRs recomputed, queries, and the peak of memory traced while comparing."""
    with CaptureQueriesContext(connection) as queries:
        recompute_organization(org=org, write=write)
    gc.collect()
    tracemalloc.start()
    try:
        report = recompute_organization(org=org, write=write)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.mismatches == []
    return report.krs, len(queries), peak


@pytest.mark.parametrize("write", [False, True], ids=["verify", "repair"])
def test_it_compares_twice_the_key_results_in_the_same_memory(db, write):
    """What the comparison holds at once does not grow with the organization: the time
    of a full recompute grew faster than the organization while it held every row,
    because CPython's cyclic collector ran full collections over them (docs/performance.md).
    Memory traced, not time: the same on a busy machine. The repair too: it locks the
    plans by id first, then streams."""
    small = org_build(slug="small", krs=3 * CHUNK, shared_children=20).org
    large = org_build(slug="large", krs=6 * CHUNK, shared_children=20).org

    small_krs, small_queries, small_peak = _recompute_peak(small, write=write)
    large_krs, large_queries, large_peak = _recompute_peak(large, write=write)

    assert (small_krs, large_krs) == (3 * CHUNK, 6 * CHUNK)
    # verify: the streamed read; repair: a savepoint, the lock, the read, its release
    assert small_queries == large_queries == (4 if write else 1)
    assert large_peak <= 1.25 * small_peak, (small_peak, large_peak)
