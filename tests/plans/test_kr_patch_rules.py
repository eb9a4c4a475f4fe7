"""PATCH of a KR (issue 13 items 6 and 9): a move to another cycle is refused, a weight is
greater than 0 at its stored precision, an owner is never a viewer, and `version` answers
409 when the plan moved since."""

from datetime import date
from decimal import Decimal

import pytest

from hierarchy import services as hs
from hierarchy.models import KeyResult
from plans.models import Plan
from tests.planning import make_kr, set_plan

D = Decimal


def kr_url(kr) -> str:
    return f"/api/v1/orgs/acme/krs/{kr.pk}/"


def test_it_refuses_to_move_a_kr_to_another_cycle(world, planning, api):
    q2 = hs.cycle_create(
        org=world.org,
        name="Q2 2026",
        start=date(2026, 4, 1),
        end=date(2026, 6, 30),
        granularity="week",
    )
    elsewhere = hs.objective_create(org=world.org, cycle=q2, title="Later", owner=world.owner)
    for kr in (planning.marketing_kr, planning.pipeline):  # a child; a parent with children
        response = api(world.admin).patch(kr_url(kr), {"objective": elsewhere.pk}, format="json")
        assert response.status_code == 400
        assert "another cycle" in response.data["objective"][0]
        kr.refresh_from_db()
        assert kr.cycle_id == planning.cycle.pk and kr.objective_id == planning.objective.pk
        assert len(Plan.objects.get(kr=kr).values) == len(planning.cycle.periods)


def test_it_still_moves_a_kr_to_another_objective_of_its_cycle(world, planning, api):
    other = hs.objective_create(
        org=world.org, cycle=planning.cycle, title="Other", owner=world.owner
    )
    response = api(world.admin).patch(
        kr_url(planning.marketing_kr), {"objective": other.pk}, format="json"
    )
    assert response.status_code == 200, response.data


@pytest.mark.parametrize("weight", ["1e-30", "0.00001", "0", "-1", "10000"])
def test_it_refuses_a_weight_that_would_not_be_stored_above_zero(world, planning, api, weight):
    response = api(world.admin).patch(
        kr_url(planning.marketing_kr), {"weight": weight}, format="json"
    )
    assert response.status_code == 400
    assert "weight" in response.data
    assert KeyResult.objects.get(pk=planning.marketing_kr.pk).weight == D(1)


def test_it_keeps_the_smallest_weight_it_can_store(world, planning, api):
    response = api(world.admin).patch(
        kr_url(planning.marketing_kr), {"weight": "0.0001"}, format="json"
    )
    assert response.status_code == 200, response.data
    assert KeyResult.objects.get(pk=planning.marketing_kr.pk).weight == D("0.0001")
    objective = api(world.admin).get(f"/api/v1/orgs/acme/objectives/{planning.objective.pk}/")
    assert objective.status_code == 200


def test_it_refuses_a_weight_below_precision_on_create(world, planning):
    with pytest.raises(Exception) as refused:
        make_kr(world, planning.objective, title="Tiny", weight=D("1e-30"))
    assert "weight" in refused.value.message_dict


def test_it_refuses_a_viewer_as_owner(world, planning, api):
    response = api(world.admin).patch(
        kr_url(planning.marketing_kr), {"owner": "viewer"}, format="json"
    )
    assert response.status_code == 400
    assert "viewer" in response.data["owner"][0]
    response = api(world.admin).post(
        "/api/v1/orgs/acme/krs/",
        {
            "objective": planning.objective.pk,
            "title": "Watched pipeline",
            "owner": "viewer",
            "department": world.marketing.pk,
            "unit": "USD",
            "metric_kind": "cumulative",
            "target": 0,
        },
        format="json",
    )
    assert response.status_code == 400
    assert "owner" in response.data
    assert not KeyResult.objects.filter(title="Watched pipeline").exists()


def test_it_answers_409_to_a_patch_from_a_stale_version(world, planning, api):
    kr = planning.marketing_kr
    client = api(world.marketing_lead)
    version = client.get(kr_url(kr)).data["plan_version"]
    set_plan(kr, [1, 2, 3])  # someone saves the plan meanwhile
    response = client.patch(kr_url(kr), {"title": "Renamed", "version": version}, format="json")
    assert response.status_code == 409
    assert response.data["version"] == version + 1
    assert "current version" in response.data["detail"]
    assert KeyResult.objects.get(pk=kr.pk).title == "Marketing pipeline"
    response = client.patch(kr_url(kr), {"title": "Renamed", "version": version + 1}, format="json")
    assert response.status_code == 200, response.data
    assert response.data["title"] == "Renamed"
