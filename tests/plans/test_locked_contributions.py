"""A locked shared KR's set of contributions is part of its locked plan (issue 13 item 6,
docs/decisions.md): a KR joins or leaves it only when the shared total stays as it was; a
KR that joins is locked with it, so that its plan is a modification like the others'."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from hierarchy import services as hs
from hierarchy.models import KeyResult
from notifications.models import Round
from plans.models import Plan, PlanRevision
from tests.planning import lock, make_kr, set_plan

D = Decimal


def kr_url(kr) -> str:
    return f"/api/v1/orgs/acme/krs/{kr.pk}/"


def shared_total(kr) -> Decimal:
    return sum(Plan.objects.get(kr=kr).effective_values, D(0))


@pytest.fixture
def modified(planning):
    """SPEC.md §8: locked at 5,000,000, Marketing modifies to 2,400,000: 4,400,000."""
    lock(planning.pipeline)
    set_plan(planning.marketing_kr, [800000, 800000, 800000], rationale="Channel change")
    assert shared_total(planning.pipeline) == D(4400000)
    return planning


def _nothing_else(planning, revisions, rounds):
    assert shared_total(planning.pipeline) == D(4400000)
    assert PlanRevision.objects.count() == revisions
    assert Round.objects.count() == rounds


def test_it_refuses_to_detach_a_locked_child_that_contributes(world, modified, api):
    planning = modified
    revisions, rounds = PlanRevision.objects.count(), Round.objects.count()
    response = api(world.admin).patch(
        kr_url(planning.partnerships_kr), {"parent": None}, format="json"
    )
    assert response.status_code == 400
    assert "4,400,000 to 3,900,000" in response.data["parent"][0]
    assert KeyResult.objects.get(pk=planning.partnerships_kr.pk).parent_id == planning.pipeline.pk
    _nothing_else(planning, revisions, rounds)


def test_it_refuses_to_move_a_locked_child_under_another_parent(world, modified):
    planning = modified
    other = make_kr(world, planning.objective, title="Other pipeline")
    with pytest.raises(ValidationError) as refused:
        hs.kr_update(kr=planning.sales_kr, parent=other)
    assert "parent" in refused.value.message_dict
    assert shared_total(planning.pipeline) == D(4400000)


def test_it_detaches_a_child_once_its_modification_brought_it_to_nothing(world, modified, api):
    planning = modified
    set_plan(planning.partnerships_kr, [0, 0, 0], rationale="Partners moved to Q2")
    assert shared_total(planning.pipeline) == D(3900000)
    response = api(world.admin).patch(
        kr_url(planning.partnerships_kr), {"parent": None}, format="json"
    )
    assert response.status_code == 200, response.data
    assert shared_total(planning.pipeline) == D(3900000)


def test_it_locks_a_new_child_with_its_locked_parent(world, modified, api):
    """Attaching is allowed (nothing planned yet moves nothing); its first plan is then a
    modification: a rationale, a revision marked so, a round, the parent owner told."""
    planning = modified
    response = api(world.marketing_lead).post(
        "/api/v1/orgs/acme/krs/",
        {
            "objective": planning.objective.pk,
            "title": "Webinar pipeline",
            "owner": "maya",
            "department": world.marketing.pk,
            "unit": "USD",
            "metric_kind": "cumulative",
            "target": 0,
            "parent": planning.pipeline.pk,
        },
        format="json",
    )
    assert response.status_code == 201, response.data
    webinars = KeyResult.objects.get(pk=response.data["id"])
    assert response.data["plan_status"] == "locked"
    plan_url = f"{kr_url(webinars)}plan/"
    client = api(world.marketing_lead)
    silent = client.put(plan_url, {"values": [100000, 100000, 100000], "version": 1}, format="json")
    assert silent.status_code == 400 and "rationale" in silent.data
    assert shared_total(planning.pipeline) == D(4400000)
    rounds = Round.objects.count()
    saved = client.put(
        plan_url,
        {"values": [100000, 100000, 100000], "version": 1, "rationale": "Webinars start"},
        format="json",
    )
    assert saved.status_code == 200, saved.data
    assert shared_total(planning.pipeline) == D(4700000)
    assert PlanRevision.objects.filter(kr=webinars, is_modification=True).count() == 1
    assert Round.objects.count() == rounds + 1  # Marketing's round was started by another KR


def test_it_refuses_a_new_stage_in_a_locked_funnel(world, funnel):
    lock(funnel.parent)
    before = Plan.objects.get(kr=funnel.parent).effective_values
    with pytest.raises(ValidationError) as refused:
        make_kr(
            world,
            funnel.parent.objective,
            title="Renewals",
            unit="paid",
            parent=funnel.parent,
            stage=4,
        )
    assert "parent" in refused.value.message_dict
    assert Plan.objects.get(kr=funnel.parent).effective_values == before


def test_it_refuses_a_stage_change_in_a_locked_funnel(world, funnel, api):
    lock(funnel.parent)
    response = api(world.admin).patch(kr_url(funnel.paid), {"stage": 9}, format="json")
    # stage 9 after 2 keeps the order: the ratios and the output stay; a swap would not
    assert response.status_code == 200, response.data
    response = api(world.admin).patch(kr_url(funnel.visitors), {"stage": 10}, format="json")
    assert response.status_code == 400
    assert "stage" in response.data


def test_it_refuses_a_new_claim_under_a_locked_parallel_parent(world, planning, api):
    nps = make_kr(
        world,
        planning.objective,
        title="NPS from 32 to 45",
        unit="points",
        metric_kind="level",
        start_value=D(32),
        target=D(45),
        aggregation="parallel",
    )
    service = make_kr(
        world,
        planning.objective,
        title="Support NPS",
        unit="points",
        metric_kind="level",
        parent=nps,
        department=world.marketing,
        owner=world.marketing_lead,
        claimed_impact=D(8),
    )
    lock(nps)
    response = api(world.admin).patch(kr_url(service), {"claimed_impact": 12}, format="json")
    assert response.status_code == 400
    assert "claimed_impact" in response.data
    with pytest.raises(ValidationError):
        make_kr(
            world,
            planning.objective,
            title="Product NPS",
            unit="points",
            metric_kind="level",
            parent=nps,
            claimed_impact=D(7),
        )
