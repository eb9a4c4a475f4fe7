from datetime import date
from decimal import Decimal

import pytest
import time_machine

from plans.models import Plan, PlanRevision
from tests.planning import set_plan

D = Decimal


def url(kr, tail=""):
    return f"/api/v1/orgs/acme/krs/{kr.pk}/plan/{tail}"


def test_it_shows_the_plan_with_its_effective_values(planning, world, api):
    body = api(world.viewer).get(url(planning.pipeline)).json()
    assert body["values"] == ["1666666.67", "1666666.67", "1666666.66"]
    assert body["target"] == "5000000"
    assert body["effective_values"] == ["1600000", "1700000", "1700000"]
    assert body["status"] == "draft"
    assert body["periods"] == ["Jan 2026", "Feb 2026", "Mar 2026"]


def test_a_save_bumps_the_version_carries_the_target_and_keeps_a_revision(planning, world, api):
    kr = planning.marketing_kr
    version = kr.plan.version
    response = api(world.marketing_lead).put(
        url(kr), {"values": [800000, "800000", 800000], "version": version}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["version"] == version + 1
    assert response.json()["target"] == "2400000"
    revision = PlanRevision.objects.filter(kr=kr).last()
    assert revision.before_values == ["1000000", "1000000", "1000000"]
    assert revision.after_values == ["800000", "800000", "800000"]
    assert (revision.before_target, revision.after_target) == (D(3000000), D(2400000))
    assert (revision.actor, revision.cause, revision.is_modification) == (
        world.marketing_lead,
        "edit",
        False,
    )
    parent = api(world.viewer).get(url(planning.pipeline)).json()
    assert parent["effective_values"] == ["1400000", "1500000", "1500000"]


def test_a_level_plan_carries_its_last_value_as_target(planning, world, api):
    from tests.planning import make_kr

    nps = make_kr(
        world,
        planning.objective,
        title="NPS",
        unit="points",
        metric_kind="level",
        start_value=D(32),
        department=world.marketing,
        owner=world.marketing_lead,
    )
    response = api(world.marketing_lead).put(
        url(nps), {"values": ["-5", "40.5", "45"], "version": 1}, format="json"
    )
    assert response.status_code == 200
    nps.refresh_from_db()
    assert nps.target == D(45)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([1, 2], "exactly one value per period: 3 values, not 2"),
        ([1, 2, 3, 4], "3 values, not 4"),
        ([1, "NaN", 3], "Value 2 “NaN” is not a number"),
        ([1, "Infinity", 3], "Value 2 “Infinity” is not a number"),
        ([1, "-Infinity", 3], "Value 2 “-Infinity” is not a number"),
        ([1, "1e400", 3], "“1e400” is not a number"),
        ([1, 1e20, 3], "smaller than"),
        ([1, "100000000000000000000", 3], "smaller than"),
        ([1, "1_000", 3], "“1_000” is not a number"),
        ([1, "+5", 3], "“+5” is not a number"),
        ([1, " 5", 3], "“ 5” is not a number"),
        ([1, "1e3", 3], "“1e3” is not a number"),
        ([1, ".5", 3], "“.5” is not a number"),
        ([1, "\u0661\u0662", 3], "is not a number"),
        ([1, "\uff11\uff12", 3], "is not a number"),
        ([1, "lots", 3], "“lots” is not a number"),
        ([1, None, 3], "Value 2 must be a number"),
        ([1, True, 3], "Value 2 must be a number"),
        ([1, -5, 3], "cannot be negative"),
        ([1, "0.001", 3], "at most 2 decimal places"),
        ("1,2,3", "Give a list of numbers"),
    ],
)
def test_it_rejects_bad_values_naming_the_field_and_writes_nothing(
    planning, world, api, values, message
):
    kr = planning.marketing_kr
    before = (kr.plan.version, kr.plan.values_json, PlanRevision.objects.count())
    response = api(world.marketing_lead).put(
        url(kr), {"values": values, "version": kr.plan.version}, format="json"
    )
    assert response.status_code == 400
    assert message in " ".join(response.json()["values"]), response.json()
    kr.plan.refresh_from_db()
    assert (kr.plan.version, kr.plan.values_json, PlanRevision.objects.count()) == before


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "1e400", "-1e400"])
def test_a_raw_non_finite_number_in_the_json_body_is_refused(planning, world, api, raw):
    kr = planning.marketing_kr
    response = api(world.marketing_lead).put(
        url(kr),
        f'{{"values": [1, {raw}, 3], "version": {kr.plan.version}}}',
        content_type="application/json",
    )
    assert response.status_code == 400
    kr.plan.refresh_from_db()
    assert kr.plan.values[1] == D(1000000)


def test_a_stale_version_answers_409_with_the_current_version(planning, world, api):
    kr = planning.marketing_kr
    stale = kr.plan.version
    set_plan(kr, [900000, 1000000, 1100000])
    response = api(world.marketing_lead).put(
        url(kr), {"values": [1, 2, 3], "version": stale}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["version"] == stale + 1
    kr.plan.refresh_from_db()
    assert kr.plan.values == [D(900000), D(1000000), D(1100000)]


def test_a_locked_plan_changes_only_with_a_rationale(planning, world, api):
    assert (
        api(world.owner).post(f"/api/v1/orgs/acme/krs/{planning.pipeline.pk}/lock/").status_code
        == 200
    )
    kr = planning.marketing_kr
    kr.plan.refresh_from_db()
    assert kr.plan.status == "locked"
    version = kr.plan.version
    for rationale in (None, "", "   "):
        payload = {"values": [800000, 800000, 800000], "version": version}
        if rationale is not None:
            payload["rationale"] = rationale
        response = api(world.marketing_lead).put(url(kr), payload, format="json")
        assert response.status_code == 400
        assert "rationale" in response.json()
    kr.plan.refresh_from_db()
    assert kr.plan.version == version
    response = api(world.marketing_lead).put(
        url(kr),
        {
            "values": [800000, 800000, 800000],
            "version": version,
            "rationale": "Channel algorithm change",
        },
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["status"] == "locked"
    revision = PlanRevision.objects.filter(kr=kr).last()
    assert revision.is_modification is True
    assert revision.rationale == "Channel algorithm change"


def test_a_shape_preset_keeps_the_exact_target(planning, world, api):
    kr = planning.marketing_kr
    response = api(world.marketing_lead).put(
        url(kr),
        {"shape": "front_loaded", "target": "1000000.01", "version": kr.plan.version},
        format="json",
    )
    assert response.status_code == 200
    values = [D(v) for v in response.json()["values"]]
    assert sum(values) == D("1000000.01")
    assert values[0] > values[1] > values[2]
    assert response.json()["shape"] == "front_loaded"
    assert PlanRevision.objects.filter(kr=kr).last().cause == "shape"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"shape": "history", "target": 100}, "shape"),
        ({"shape": "zigzag", "target": 100}, "shape"),
        ({"shape": "linear"}, "target"),
        ({"shape": "linear", "target": 100, "values": [1, 2, 3]}, "shape"),
        ({}, "values"),
        ({"shape": "linear", "target": -100}, "target"),
    ],
)
def test_shape_requests_are_validated(planning, world, api, payload, field):
    kr = planning.marketing_kr
    response = api(world.marketing_lead).put(
        url(kr), {**payload, "version": kr.plan.version}, format="json"
    )
    assert response.status_code == 400
    assert field in response.json(), response.json()


def test_a_missing_version_is_a_400(planning, world, api):
    response = api(world.marketing_lead).put(
        url(planning.marketing_kr), {"values": [1, 2, 3]}, format="json"
    )
    assert response.status_code == 400
    assert "version" in response.json()


@pytest.mark.parametrize("who", ["sales_lead", "member", "viewer"])
def test_only_the_owner_the_lead_and_admins_edit_a_plan(planning, world, api, who):
    kr = planning.marketing_kr
    response = api(getattr(world, who)).put(
        url(kr), {"values": [1, 2, 3], "version": kr.plan.version}, format="json"
    )
    assert response.status_code == 403
    kr.plan.refresh_from_db()
    assert kr.plan.values[0] == D(1000000)


def test_an_admin_edits_any_plan(planning, world, api):
    kr = planning.sales_kr
    response = api(world.admin).put(
        url(kr), {"values": [1, 2, 3], "version": kr.plan.version}, format="json"
    )
    assert response.status_code == 200


def test_submit_moves_draft_to_submitted_and_an_edit_back_to_draft(planning, world, api):
    kr = planning.marketing_kr
    response = api(world.marketing_lead).post(url(kr, "submit/"))
    assert response.status_code == 200
    assert response.json()["status"] == "submitted"
    set_plan(kr, [1, 2, 3])
    kr.plan.refresh_from_db()
    assert kr.plan.status == "draft"


def test_submit_is_refused_outside_the_refine_window(planning, world, api):
    cycle = planning.cycle
    cycle.refine_start, cycle.refine_end = date(2025, 12, 1), date(2025, 12, 20)
    cycle.save()
    kr = planning.marketing_kr
    with time_machine.travel(date(2026, 1, 5)):
        response = api(world.marketing_lead).post(url(kr, "submit/"))
    assert response.status_code == 400
    assert "refine window" in response.json()["detail"][0]
    with time_machine.travel(date(2025, 12, 10)):
        assert api(world.marketing_lead).post(url(kr, "submit/")).status_code == 200


def test_an_unplanned_plan_cannot_be_submitted(planning, world, api):
    from tests.planning import make_kr

    kr = make_kr(world, planning.objective, title="Blank", department=world.marketing)
    response = api(world.marketing_lead).post(url(kr, "submit/"))
    assert response.status_code == 400
    assert Plan.objects.get(kr=kr).status == "draft"


def test_the_parent_owner_locks_the_kr_and_its_children(planning, world, api):
    lock = f"/api/v1/orgs/acme/krs/{planning.pipeline.pk}/lock/"
    assert api(world.marketing_lead).post(lock).status_code == 403
    assert api(world.viewer).post(lock).status_code == 403
    response = api(world.owner).post(lock)
    assert response.status_code == 200
    statuses = Plan.objects.filter(
        kr__in=[
            planning.pipeline,
            planning.marketing_kr,
            planning.sales_kr,
            planning.partnerships_kr,
        ]
    )
    assert {p.status for p in statuses} == {"locked"}
    planning.pipeline.plan.refresh_from_db()
    assert planning.pipeline.plan.baseline == D(5000000)


def test_the_history_lists_revisions_oldest_first(planning, world, api):
    kr = planning.marketing_kr
    set_plan(kr, [1, 2, 3])
    body = api(world.viewer).get(f"/api/v1/orgs/acme/krs/{kr.pk}/history/").json()
    assert [e["version"] for e in body["results"]] == [2, 3]
    assert body["results"][1]["after_values"] == ["1", "2", "3"]
    assert body["results"][1]["actor"] == "maya"


@pytest.mark.parametrize(
    "path",
    ["krs/{id}/plan/", "krs/{id}/alignment/", "krs/{id}/plan/submit/", "krs/{id}/lock/"],
)
@pytest.mark.parametrize("kr_id", [2**63, 10**30, 0])
def test_an_id_no_key_result_can_have_answers_404(planning, world, api, path, kr_id):
    """The KR of a plan request is read by a hand-written statement: an id beyond the
    database's integer range must be "not found", as through the ORM, not an error."""
    client = api(world.admin)
    url = f"/api/v1/orgs/acme/{path.format(id=kr_id)}"
    method = client.get if path.endswith(("plan/", "alignment/")) else client.post
    assert method(url).status_code == 404
