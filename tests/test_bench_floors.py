"""The HTTP benchmark's floors (bench/floors.py): mounted only when asked for."""

import pytest
from django.urls import Resolver404, resolve

from hierarchy.models import Cycle, KeyResult, Objective
from plans.models import Plan


def test_it_mounts_no_bench_urls_by_default(settings):
    assert settings.BENCH_URLS is False
    with pytest.raises(Resolver404):
        resolve("/bench/orgs/acme/read/1/")


def _kr(world) -> KeyResult:
    from datetime import date

    cycle = Cycle.objects.create(
        organization=world.org,
        name="Q1",
        start=date(2026, 1, 1),
        end=date(2026, 3, 31),
        alignment_meeting=date(2026, 1, 11),
        midcycle_check=date(2026, 2, 5),
    )
    objective = Objective.objects.create(
        organization=world.org, cycle=cycle, title="O", owner=world.owner
    )
    kr = KeyResult.objects.create(
        organization=world.org,
        objective=objective,
        cycle=cycle,
        title="Pipeline",
        owner=world.owner,
        department=world.marketing,
        unit="USD",
        metric_kind="cumulative",
        target=10,
    )
    Plan.objects.create(organization=world.org, kr=kr, values_json=["0"] * 3)
    return kr


@pytest.mark.urls("tests.bench_urls")
def test_it_reads_and_writes_one_row_behind_the_same_authentication(world, api, client):
    kr = _kr(world)
    assert api().get(f"/bench/orgs/acme/read/{kr.pk}/").status_code == 401
    response = api(world.owner).get(f"/bench/orgs/acme/read/{kr.pk}/")
    assert response.json() == {"id": kr.pk, "title": "Pipeline"}
    assert api(world.owner).get(f"/bench/orgs/globex/read/{kr.pk}/").status_code == 404
    url = f"/bench/orgs/acme/write/{kr.pk}/"
    response = api(world.owner).put(url, {"values": [1, 2]}, format="json")
    assert response.json() == {"kr": kr.pk, "values": 2}
    assert client.get(f"/bench/o/acme/page/{kr.pk}/").status_code == 302  # to the login
    client.force_login(world.owner)
    assert "Pipeline" in client.get(f"/bench/o/acme/page/{kr.pk}/").content.decode()


@pytest.mark.urls("tests.bench_urls")
def test_the_tree_floor_renders_the_cycles_krs_behind_the_session(world, client):
    kr = _kr(world)
    url = f"/bench/o/acme/tree/{kr.cycle_id}/"
    assert client.get(url).status_code == 302  # to the login
    client.force_login(world.owner)
    page = client.get(url).content.decode()
    assert f'<tr id="kr-{kr.pk}"><th>Pipeline</th><td>Marketing</td><td>owner</td>' in page
    assert client.get(f"/bench/o/globex/tree/{kr.cycle_id}/").status_code == 404
