"""A parallel KR's target lies beyond its start value (SPEC.md §3 Parallel; issue 16 §5).

Its contributions claim how much they move the parent's metric (“+8 NPS points”) and the
checks compare those claims with the improvement needed (target − start value): a target
at or below the start value ("Needed -35 points") makes every claim "double counted" and
none short. One rule (`hierarchy.services.validate_target`) refuses it wherever a target
is set: a new KR, a new start value, a new aggregation, a plan save (the API's, the plan
editor's, a shape or a target change)."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from hierarchy import services as hs
from plans import services as ps
from plans.models import Plan, PlanRevision
from tests.planning import make_kr

D = Decimal


def kr_url(kr) -> str:
    return f"/api/v1/orgs/acme/krs/{kr.pk}/"


def _unchanged(kr, target=45):
    kr.refresh_from_db()
    assert kr.target == D(target)
    plan = Plan.objects.get(kr=kr)
    assert not PlanRevision.objects.filter(kr=kr, version__gt=plan.version).exists()
    return plan


def test_it_refuses_a_target_below_the_start_value_through_the_api(nps, world, api):
    version = Plan.objects.get(kr=nps.parent).version
    response = api(world.owner).patch(kr_url(nps.parent), {"target": -3}, format="json")
    assert response.status_code == 400, response.json()
    message = response.json()["target"][0]
    assert "above its start value (32 points)" in message, message
    assert Plan.objects.get(kr=nps.parent).version == version
    _unchanged(nps.parent)


def test_it_refuses_a_plan_that_ends_at_or_below_the_start_value(nps, world, api):
    plan = Plan.objects.get(kr=nps.parent)
    response = api(world.owner).put(
        f"{kr_url(nps.parent)}plan/",
        {"values": [30, 31, 32], "version": plan.version},
        format="json",
    )
    assert response.status_code == 400, response.json()
    assert "above its start value (32 points)" in response.json()["values"][0]
    _unchanged(nps.parent)


def test_it_refuses_a_preset_to_such_a_target_on_the_plan_editor(nps, world, client):
    client.force_login(world.owner)
    plan = Plan.objects.get(kr=nps.parent)
    response = client.post(
        f"/o/acme/krs/{nps.parent.pk}/plan/",
        {"action": "shape", "shape": "linear", "target": "-3", "version": plan.version},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "above its start value (32 points)" in html
    _unchanged(nps.parent)


def test_it_refuses_a_new_parallel_kr_aiming_below_its_start(nps, world, api, planning):
    response = api(world.owner).post(
        "/api/v1/orgs/acme/krs/",
        {
            "objective": planning.objective.pk,
            "title": "Lower NPS",
            "owner": world.owner.username,
            "department": world.sales.pk,
            "unit": "points",
            "metric_kind": "level",
            "start_value": 32,
            "target": -3,
            "aggregation": "parallel",
        },
        format="json",
    )
    assert response.status_code == 400, response.json()
    assert "above its start value (32 points)" in response.json()["target"][0]


def test_it_refuses_a_start_value_at_the_target_and_a_parallel_aggregation_below_it(
    world, planning
):
    kr = make_kr(
        world,
        planning.objective,
        title="Churn",
        unit="points",
        metric_kind="level",
        start_value=D(10),
        target=D(5),
    )
    with pytest.raises(ValidationError) as error:
        hs.kr_update(kr=kr, aggregation="parallel")
    assert "above its start value (10 points)" in error.value.message_dict["aggregation"][0]
    parallel = make_kr(
        world,
        planning.objective,
        title="NPS",
        unit="points",
        metric_kind="level",
        start_value=D(10),
        target=D(20),
        aggregation="parallel",
    )
    with pytest.raises(ValidationError) as error:
        hs.kr_measure_update(kr=parallel, start_value=D(20))
    assert "start_value" in error.value.message_dict


def test_a_level_kr_that_is_not_parallel_may_aim_below_its_start(world, planning):
    kr = make_kr(
        world,
        planning.objective,
        title="Churn down",
        unit="%",
        metric_kind="level",
        start_value=D(5),
        target=D(3),
    )
    plan = ps.kr_target_set(kr=kr, target=D(-2), actor=world.owner)
    assert plan.values[-1] == D(-2)
