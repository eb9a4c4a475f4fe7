"""POST .../plan/preview/: the shared KR as it would be after a change; nothing written."""

from notifications.models import Notification, Step
from plans.models import Plan, PlanRevision
from tests.planning import lock


def preview(api, user, kr, payload):
    return api(user).post(f"/api/v1/orgs/acme/krs/{kr.pk}/plan/preview/", payload, format="json")


def test_it_shows_the_gap_and_who_would_be_told_without_writing(planning, world, api):
    lock(planning.pipeline)
    kr = planning.marketing_kr
    kr.plan.refresh_from_db()
    before = (
        Plan.objects.get(kr=kr).values_json,
        PlanRevision.objects.count(),
        Notification.objects.count(),
        Step.objects.count(),
    )
    response = preview(
        api,
        world.marketing_lead,
        kr,
        {"values": [800000, 800000, 800000], "version": kr.plan.version},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["kr"]["id"] == planning.pipeline.pk
    assert body["aggregate"]["total"] == "4400000"
    assert body["aggregate"]["gap_pct"] == "12.00"
    assert body["before"]["gap_pct"] == "0.00"
    assert "aggregate_gap" in [c["code"] for c in body["checks"]]
    assert body["requires_rationale"] is True
    assert {"username": "owner", "kind": "threshold"}.items() <= body["would_notify"][0].items()
    marketing_row = next(c for c in body["children"] if c["id"] == kr.pk)
    assert marketing_row["values"] == ["800000", "800000", "800000"]
    after = (
        Plan.objects.get(kr=kr).values_json,
        PlanRevision.objects.count(),
        Notification.objects.count(),
        Step.objects.count(),
    )
    assert after == before


def test_a_small_change_tells_nobody_and_a_draft_is_not_news(planning, world, api):
    kr = planning.marketing_kr
    body = preview(
        api,
        world.marketing_lead,
        kr,
        {"values": [800000, 800000, 800000], "version": kr.plan.version},
    ).json()
    assert body["would_notify"] == []  # the parent is not locked yet
    lock(planning.pipeline)
    kr.plan.refresh_from_db()
    body = preview(
        api,
        world.marketing_lead,
        kr,
        {"values": [950000, 950000, 950000], "version": kr.plan.version},
    ).json()
    assert [t["kind"] for t in body["would_notify"]] == ["step"]  # the round, not a threshold


def test_a_shape_preview_and_the_cascade_it_would_cause(funnel, world, api):
    lock(funnel.parent)
    kr = funnel.visitors
    kr.plan.refresh_from_db()
    body = preview(
        api,
        world.marketing_lead,
        kr,
        {"shape": "linear", "target": 8000, "version": kr.plan.version},
    ).json()
    assert body["aggregate"]["implied_output"] == "400"
    reviews = [t for t in body["would_notify"] if t["kind"] == "review"]
    assert [t["username"] for t in reviews] == ["priya", "sam"]


def test_it_validates_like_the_save(planning, world, api):
    kr = planning.marketing_kr
    assert (
        preview(
            api, world.marketing_lead, kr, {"values": [1, 2], "version": kr.plan.version}
        ).status_code
        == 400
    )
    stale = preview(api, world.marketing_lead, kr, {"values": [1, 2, 3], "version": 1})
    assert stale.status_code == 409
    assert (
        preview(
            api, world.sales_lead, kr, {"values": [1, 2, 3], "version": kr.plan.version}
        ).status_code
        == 403
    )
    assert preview(api, world.outsider, kr, {"values": [1, 2, 3], "version": 2}).status_code == 404


def test_a_parent_previews_its_own_plan(nps, world, api):
    kr = nps.parent
    response = preview(api, world.owner, kr, {"values": [36, 40, 44], "version": kr.plan.version})
    assert response.status_code == 200
    body = response.json()
    assert body["kr"]["target"] == "44"
    assert body["aggregate"]["needed"] == "12"
