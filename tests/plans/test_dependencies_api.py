import pytest

from hierarchy.models import Dependency

URL = "/api/v1/orgs/acme/dependencies/"


def payload(planning, **change):
    return {
        "upstream": planning.marketing_kr.pk,
        "downstream": planning.sales_kr.pk,
        "assumption": "Our conversion plan assumes Marketing delivers $2M by mid-quarter.",
        "expected_value": "2000000",
        "expected_by": "2026-02-15",
        **change,
    }


def test_the_downstream_lead_registers_a_dependency_that_holds(planning, world, api):
    response = api(world.sales_lead).post(URL, payload(planning), format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["upstream_planned_by"] == "2000000"  # Jan + Feb of Marketing's plan
    assert body["expectation_holds"] is True
    assert body["created_by"] == "sam"


def test_it_tells_when_the_upstream_plan_no_longer_meets_the_expectation(planning, world, api):
    from tests.planning import set_plan

    dependency_id = api(world.sales_lead).post(URL, payload(planning), format="json").json()["id"]
    set_plan(planning.marketing_kr, [800000, 800000, 800000])
    body = api(world.viewer).get(f"{URL}{dependency_id}/").json()
    assert body["upstream_planned_by"] == "1600000"
    assert body["expectation_holds"] is False


def test_an_assumption_without_numbers_is_fine(planning, world, api):
    body = (
        api(world.sales_lead)
        .post(URL, payload(planning, expected_value=None, expected_by=None), format="json")
        .json()
    )
    assert body["expectation_holds"] is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"upstream": "same"}, "downstream"),
        ({"expected_by": None}, "expected_by"),
        ({"expected_value": None}, "expected_value"),
        ({"expected_by": "2026-07-01"}, "expected_by"),
        ({"expected_value": "Infinity"}, "expected_value"),
        ({"upstream": 987654}, "upstream"),
        ({"assumption": ""}, "assumption"),
    ],
)
def test_it_rejects_bad_input_and_writes_nothing(planning, world, api, change, field):
    if change.get("upstream") == "same":
        change = {"upstream": planning.sales_kr.pk}
    response = api(world.sales_lead).post(URL, payload(planning, **change), format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not Dependency.objects.exists()


def test_a_dependency_is_registered_once(planning, world, api):
    assert api(world.sales_lead).post(URL, payload(planning), format="json").status_code == 201
    again = api(world.sales_lead).post(URL, payload(planning), format="json")
    assert again.status_code == 400
    assert Dependency.objects.count() == 1


@pytest.mark.parametrize("who", ["marketing_lead", "viewer", "member"])
def test_only_those_who_edit_the_downstream_kr_register_its_assumptions(planning, world, api, who):
    response = api(getattr(world, who)).post(URL, payload(planning), format="json")
    assert response.status_code == 403
    assert not Dependency.objects.exists()
