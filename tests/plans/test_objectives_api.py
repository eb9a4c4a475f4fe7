import pytest

from hierarchy import services as hs

URL = "/api/v1/orgs/acme/objectives/"


def test_the_list_filters_by_cycle(planning, world, api):
    hs.objective_create(org=world.org, cycle=planning.cycle, title="Retain", owner=world.owner)
    client = api(world.viewer)
    assert client.get(f"{URL}?cycle={planning.cycle.pk}").json()["count"] == 2
    assert client.get(f"{URL}?cycle=999").json()["count"] == 0
    assert client.get(URL).json()["count"] == 2


@pytest.mark.parametrize("value", ["abc", "1.5", "0", "²", str(10**30)])
def test_the_list_refuses_a_cycle_no_id_can_be_naming_it(planning, world, api, value):
    """Found by the stateful fuzzing: `?cycle=4652534456352753319936` was sent to the
    database and answered 500 (and `²`, a digit to `str.isdigit`, failed `int()`)."""
    response = api(world.viewer).get(URL, {"cycle": value})
    assert response.status_code == 400
    assert list(response.json()) == ["cycle"]


def test_it_refuses_an_owner_with_a_nul_character(planning, world, api):
    """PostgreSQL cannot compare a NUL: the owner lookup answered 500 there (found by the
    stateful fuzzing on PostgreSQL); now 400 naming the field, as DRF's own fields do."""
    body = {"cycle": planning.cycle.pk, "title": "Retain", "owner": "ma\x00ya"}
    response = api(world.admin).post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json() == {"owner": ["Remove the null character: it cannot be stored."]}
