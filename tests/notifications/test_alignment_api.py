"""The combined view through the API, with SPEC.md §8's worked examples."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hierarchy.services import dependency_create
from tests.planning import lock, make_kr, set_plan

D = Decimal


def view(api, user, kr):
    response = api(user).get(f"/api/v1/orgs/acme/krs/{kr.pk}/alignment/")
    assert response.status_code == 200, response.content
    return response.json()


def codes(body):
    return [c["code"] for c in body["checks"]]


def check(body, code):
    return next(c for c in body["checks"] if c["code"] == code)


def test_additive_contributions_that_add_up_have_no_gap(planning, world, api):
    body = view(api, world.viewer, planning.pipeline)
    assert body["kr"]["target"] == "5000000"
    assert body["aggregate"]["total"] == "5000000"
    assert body["aggregate"]["gap"] == "0"
    assert body["aggregate"]["gap_pct"] == "0.00"
    assert [c["department_name"] for c in body["children"]] == [
        "Marketing",
        "Sales",
        "Partnerships",
    ]
    assert [c["target"] for c in body["children"]] == [
        "3000000",
        "1500000",
        "500000",
    ]
    assert [p["label"] for p in body["periods"]] == ["Jan 2026", "Feb 2026", "Mar 2026"]
    assert codes(body) == []


def test_additive_marketing_modifies_to_2_4m_leaving_a_12_percent_gap(planning, world, api):
    lock(planning.pipeline)
    set_plan(planning.marketing_kr, [800000, 800000, 800000], rationale="Channel algorithm change")
    body = view(api, world.owner, planning.pipeline)
    assert body["aggregate"]["total"] == "4400000"
    assert body["aggregate"]["gap"] == "600000"
    assert body["aggregate"]["gap_pct"] == "12.00"
    assert body["baseline"] == "4400000"  # the 12% notice reset it from 5,000,000
    gap = check(body, "aggregate_gap")
    assert gap["severity"] == "critical"
    assert gap["data"]["gap_pct"] == "12.00"
    assert (
        "4,400,000 USD against a target of 5,000,000 USD: 600,000 short (12.00%)" in gap["message"]
    )


def test_a_gap_within_the_tolerance_is_not_flagged(planning, world, api):
    set_plan(planning.partnerships_kr, [100000, 200000, 160000])  # 40,000 short: 0.8%
    assert "aggregate_gap" not in codes(view(api, world.owner, planning.pipeline))
    api(world.admin).patch("/api/v1/orgs/acme/settings/", {"gap_tolerance_pct": "0.5"})
    assert "aggregate_gap" in codes(view(api, world.owner, planning.pipeline))


def test_a_child_without_a_plan_is_a_missing_contribution(planning, world, api):
    empty = make_kr(
        world,
        planning.objective,
        title="Events pipeline",
        parent=planning.pipeline,
        department=world.marketing,
        owner=world.marketing_lead,
    )
    found = check(view(api, world.owner, planning.pipeline), "missing_contribution")
    assert found["data"] == {"kr": empty.pk, "department": "Marketing"}


def test_sequential_marketing_modifies_to_8000_visitors(funnel, world, api):
    lock(funnel.parent)
    set_plan(funnel.visitors, [2400, 2400, 3200], rationale="Paid search budget cut")
    body = view(api, world.owner, funnel.parent)
    stages = {c["stage"]: c for c in body["children"]}
    assert stages[2]["ratio"] == "0.2"
    assert stages[3]["ratio"] == "0.25"
    assert stages[2]["implied_target"] == "1600"
    assert stages[3]["implied_target"] == "400"
    assert body["aggregate"]["implied_output"] == "400"
    assert body["aggregate"]["gap"] == "100"
    assert body["aggregate"]["gap_pct"] == "20.00"
    assert check(body, "aggregate_gap")["data"]["gap_pct"] == "20.00"
    pending = check(body, "cascade_pending")
    assert [r["department"] for r in pending["data"]["reviews"]] == ["Product", "Sales"]
    assert [r["proposed_target"] for r in pending["data"]["reviews"]] == [
        "1600",
        "400",
    ]


def test_sequential_before_lock_the_current_targets_give_the_ratios(funnel, world, api):
    body = view(api, world.owner, funnel.parent)
    assert body["aggregate"]["implied_output"] == "500"
    assert "aggregate_gap" not in codes(body)
    set_plan(funnel.visitors, [2400, 2400, 3200])
    body = view(api, world.owner, funnel.parent)
    assert body["aggregate"]["implied_output"] == "500"  # ratio 2000/8000 now
    assert "cascade_pending" not in codes(body)


def test_funnel_ratio_disconnect_against_history(funnel, world, api):
    funnel.trials.historical_ratio = D("0.18")
    funnel.trials.save()
    set_plan(funnel.trials, [800, 800, 900])  # 2,500 trials from 10,000 visitors: 0.25
    found = check(view(api, world.owner, funnel.parent), "funnel_ratio_disconnect")
    assert found["data"]["ratio"] == "0.25"
    assert found["data"]["historical_ratio"] == "0.18"
    assert found["data"]["deviation_pct"] == "38.89"
    assert "+38.89%" in found["message"]


def test_parallel_claims_double_counted_and_short_after_overlap(nps, world, api):
    body = view(api, world.owner, nps.parent)
    assert body["aggregate"]["raw_claim"] == "15"
    assert body["aggregate"]["discounted_claim"] == "11.25"
    assert body["aggregate"]["needed"] == "13"
    assert set(codes(body)) == {"double_counted_impact", "impact_shortfall"}
    assert [c["claimed_impact"] for c in body["children"]] == ["8", "7"]


def test_parallel_claims_of_5_and_6(nps, world, api):
    api(world.admin).patch(
        f"/api/v1/orgs/acme/krs/{nps.success.pk}/", {"claimed_impact": 5}, format="json"
    )
    api(world.admin).patch(
        f"/api/v1/orgs/acme/krs/{nps.product.pk}/", {"claimed_impact": 6}, format="json"
    )
    body = view(api, world.owner, nps.parent)
    assert (body["aggregate"]["raw_claim"], body["aggregate"]["discounted_claim"]) == (
        "11",
        "8.25",
    )
    assert codes(body) == ["impact_shortfall"]


def test_the_overlap_factor_is_the_organizations(nps, world, api):
    api(world.admin).patch("/api/v1/orgs/acme/settings/", {"overlap_factor": "0.9"})
    body = view(api, world.owner, nps.parent)
    assert body["aggregate"]["discounted_claim"] == "13.5"
    assert codes(body) == ["double_counted_impact"]


def test_timing_mismatch_between_adjacent_funnel_stages(planning, world, api):
    parent = make_kr(
        world,
        planning.objective,
        title="Customers from MQLs",
        unit="customers",
        aggregation="sequential",
    )
    mqls = make_kr(
        world,
        planning.objective,
        title="MQLs",
        unit="MQLs",
        parent=parent,
        stage=1,
        department=world.marketing,
        owner=world.marketing_lead,
    )
    conversions = make_kr(
        world,
        planning.objective,
        title="Conversions",
        unit="customers",
        parent=parent,
        stage=2,
        department=world.sales,
        owner=world.sales_lead,
    )
    set_plan(mqls, [600, 300, 100])
    set_plan(conversions, [10, 30, 60])
    body = view(api, world.owner, parent)
    found = check(body, "timing_mismatch")
    assert found["data"]["centroids"] == ["0.25", "0.75"]
    assert found["data"]["difference"] == "0.5"
    centroids = {c["id"]: c["centroid"] for c in body["children"]}
    assert (centroids[mqls.pk], centroids[conversions.pk]) == ("0.25", "0.75")


def test_timing_mismatch_between_children_linked_by_a_dependency(planning, world, api):
    set_plan(planning.marketing_kr, [2000000, 700000, 300000])
    set_plan(planning.sales_kr, [100000, 400000, 1000000])
    assert "timing_mismatch" not in codes(view(api, world.owner, planning.pipeline))
    dependency_create(
        org=world.org,
        upstream=planning.marketing_kr,
        downstream=planning.sales_kr,
        assumption="Sales works the leads Marketing brings",
        actor=world.sales_lead,
    )
    assert "timing_mismatch" in codes(view(api, world.owner, planning.pipeline))


def test_the_view_costs_the_same_queries_for_3_and_100_children(planning, world, api):
    client = api(world.viewer)
    url = f"/api/v1/orgs/acme/krs/{planning.pipeline.pk}/alignment/"
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for i in range(97):
        kr = make_kr(
            world,
            planning.objective,
            title=f"Region {i}",
            parent=planning.pipeline,
            department=world.marketing if i % 2 else world.sales,
        )
        set_plan(kr, [1, 1, 1])
    with CaptureQueriesContext(connection) as many:
        body = client.get(url).json()
    assert len(body["children"]) == 100
    assert len(many) == len(few), [q["sql"][:80] for q in many.captured_queries]


@pytest.mark.parametrize("who", ["outsider"])
def test_a_foreign_member_gets_404(planning, world, api, who):
    response = api(getattr(world, who)).get(
        f"/api/v1/orgs/acme/krs/{planning.pipeline.pk}/alignment/"
    )
    assert response.status_code == 404
