"""The cycle tree's services (hierarchy/services.py): the order of objectives and KRs, and
archiving with what goes together (docs/decisions.md, issue 14 item 3). The API's KR PATCH
of what a KR measures (plans/services.py::kr_change)."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from hierarchy import services as hs
from hierarchy.models import KeyResult, Objective
from tests.planning import lock, make_kr

D = Decimal


def positions(*rows):
    model = type(rows[0])
    order = model.objects.filter(pk__in=[r.pk for r in rows]).order_by("position", "id")
    return list(order.values_list("pk", flat=True))


def test_new_objectives_and_krs_go_last(planning, world):
    second = hs.objective_create(
        org=world.org, cycle=planning.cycle, title="Delight", owner=world.owner
    )
    assert second.position > planning.objective.position
    root = make_kr(world, planning.objective, title="Expansion pipeline")
    assert positions(planning.pipeline, root) == [planning.pipeline.pk, root.pk]
    child = make_kr(world, planning.objective, title="Events", parent=planning.pipeline)
    siblings = (planning.marketing_kr, planning.sales_kr, planning.partnerships_kr, child)
    assert positions(*siblings) == [s.pk for s in siblings]


def test_a_move_swaps_with_the_neighbour_and_stops_at_the_ends(planning, world):
    sales = planning.sales_kr
    assert hs.kr_move(kr=sales, direction="up", actor=world.admin) is True
    assert positions(planning.marketing_kr, sales, planning.partnerships_kr) == [
        sales.pk,
        planning.marketing_kr.pk,
        planning.partnerships_kr.pk,
    ]
    sales.refresh_from_db()
    assert hs.kr_move(kr=sales, direction="up", actor=world.admin) is False
    with pytest.raises(ValidationError) as refused:
        hs.kr_move(kr=sales, direction="sideways", actor=world.admin)
    assert refused.value.message_dict == {"direction": ["Move it up or down."]}


def test_a_child_in_another_objective_moves_among_that_objectives_roots(planning, world):
    other = hs.objective_create(
        org=world.org, cycle=planning.cycle, title="Marketing engine", owner=world.owner
    )
    own = make_kr(world, other, title="Brand")
    child = make_kr(world, other, title="Event pipeline", parent=planning.pipeline)
    assert hs.kr_siblings(child).count() == 2
    assert hs.kr_move(kr=child, direction="up", actor=world.admin) is True
    assert positions(own, child) == [child.pk, own.pk]


def test_only_who_may_edit_moves(planning, world):
    with pytest.raises(PermissionDenied):
        hs.kr_move(kr=planning.sales_kr, direction="up", actor=world.member)
    with pytest.raises(PermissionDenied):
        hs.objective_move(objective=planning.objective, direction="up", actor=world.viewer)


def test_archiving_a_root_takes_its_subtree_across_objectives(planning, world):
    other = hs.objective_create(
        org=world.org, cycle=planning.cycle, title="Marketing engine", owner=world.owner
    )
    elsewhere = make_kr(world, other, title="Event pipeline", parent=planning.pipeline)
    ids = hs.kr_archive(kr=planning.pipeline, actor=world.owner)
    assert set(ids) == {
        planning.pipeline.pk,
        planning.marketing_kr.pk,
        planning.sales_kr.pk,
        planning.partnerships_kr.pk,
        elsewhere.pk,
    }
    stamps = set(KeyResult.objects.filter(pk__in=ids).values_list("archived_at", flat=True))
    assert len(stamps) == 1  # archived together, restored together
    # the other objective cannot be archived over them, nor restored under them
    hs.objective_archive(objective=other, actor=world.owner)
    other.refresh_from_db()
    planning.pipeline.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        hs.kr_restore(kr=planning.pipeline, actor=world.owner)
    assert "in the archived objective “Marketing engine”" in str(refused.value)
    hs.objective_restore(objective=other, actor=world.owner)
    assert hs.kr_restore(kr=planning.pipeline, actor=world.owner)
    assert not KeyResult.objects.filter(archived_at__isnull=False).exists()


def test_a_contribution_of_a_locked_shared_kr_is_refused_with_the_way_out(planning, world):
    lock(planning.pipeline)
    with pytest.raises(ValidationError) as refused:
        hs.kr_archive(kr=planning.sales_kr, actor=world.sales_lead)
    message = refused.value.message_dict["detail"][0]
    assert "counts in the aggregate of “Generate $5M in new pipeline”" in message
    assert "a modification the other departments hear about" in message


def test_an_objective_whose_kr_counts_elsewhere_is_refused(planning, world):
    other = hs.objective_create(
        org=world.org, cycle=planning.cycle, title="Marketing engine", owner=world.owner
    )
    make_kr(world, other, title="Event pipeline", parent=planning.pipeline)
    with pytest.raises(ValidationError) as refused:
        hs.objective_archive(objective=other, actor=world.owner)
    assert "counts in the aggregate of “Generate $5M in new pipeline”" in str(refused.value)
    assert Objective.objects.get(pk=other.pk).archived_at is None


def test_a_restored_kr_waits_for_its_parent_and_its_objective(planning, world):
    hs.kr_archive(kr=planning.pipeline, actor=world.owner)
    planning.marketing_kr.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        hs.kr_restore(kr=planning.marketing_kr, actor=world.marketing_lead)
    assert "“Generate $5M in new pipeline” is archived: restore it first" in str(refused.value)
    root = make_kr(world, planning.objective, title="Expansion pipeline")
    hs.kr_archive(kr=root, actor=world.owner)
    hs.objective_archive(objective=planning.objective, actor=world.owner)
    root.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        hs.kr_restore(kr=root, actor=world.owner)
    assert "The objective “Grow new business” is archived" in str(refused.value)
    # the objective brings back what went with it, not what was archived before it
    planning.objective.refresh_from_db()
    assert hs.objective_restore(objective=planning.objective, actor=world.owner) == []
    assert KeyResult.objects.filter(archived_at__isnull=False).count() == 5


def test_nothing_joins_an_archived_objective_or_parent(planning, world):
    hs.kr_archive(kr=planning.pipeline, actor=world.owner)
    planning.pipeline.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        make_kr(world, planning.objective, title="Events", parent=planning.pipeline)
    assert refused.value.message_dict == {
        "parent": ["“Generate $5M in new pipeline” is archived: restore it first."]
    }


# --- The API: what a KR measures, changed while nothing is measured in it ---------------


def test_the_api_changes_what_a_kr_measures_until_its_plan_is_saved(planning, world, api):
    fresh = make_kr(world, planning.objective, title="NPS", unit="points", target=D(0))
    client = api(world.owner)
    url = f"/api/v1/orgs/acme/krs/{fresh.pk}/"
    response = client.patch(
        url,
        {"metric_kind": "level", "start_value": "32", "decimals": 1, "target": "45.5"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["metric_kind"], body["start_value"], body["decimals"], body["target"]) == (
        "level",
        "32",
        1,
        "45.5",
    )
    pipeline = f"/api/v1/orgs/acme/krs/{planning.pipeline.pk}/"
    response = client.patch(pipeline, {"decimals": 0}, format="json")
    assert response.status_code == 400
    assert "fixed now: it has contributions" in response.json()["decimals"][0]
    planning.pipeline.refresh_from_db()
    assert planning.pipeline.decimals == 2  # USD
    assert client.patch(pipeline, {"decimals": 2}, format="json").status_code == 200  # as it is
