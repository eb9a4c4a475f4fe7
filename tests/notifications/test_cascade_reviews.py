"""SPEC.md §3: a change upstream in a locked funnel asks each later stage to review."""

from decimal import Decimal

import pytest

from notifications.models import Notification, Step
from plans.models import PlanRevision
from tests.planning import lock, set_plan

D = Decimal


@pytest.fixture
def cascaded(funnel):
    lock(funnel.parent)
    set_plan(funnel.visitors, [2400, 2400, 3200], rationale="Paid search budget cut")
    return funnel


def reviews(funnel):
    return {s.kr_id: s for s in Step.objects.filter(kind="cascade_review", state="open")}


def test_each_later_stage_owner_gets_a_review_with_scaled_values(cascaded, world, api):
    open_reviews = reviews(cascaded)
    assert set(open_reviews) == {cascaded.trials.pk, cascaded.paid.pk}
    trials = open_reviews[cascaded.trials.pk]
    assert trials.assignee == cascaded.trials.owner
    assert trials.proposed_target == D(1600)
    assert trials.proposed_values == [D(480), D(480), D(640)]  # 600, 600, 800 × 0.8
    paid = open_reviews[cascaded.paid.pk]
    assert paid.proposed_target == D(400)
    assert paid.proposed_values == [D(80), D(120), D(200)]
    assert Notification.objects.filter(user=cascaded.paid.owner, kind="review").count() == 1
    body = api(world.sales_lead).get("/api/v1/orgs/acme/steps/?mine=1&open=1").json()
    assert [(s["kind"], s["proposed_target"]) for s in body["results"]] == [
        ("cascade_review", "400")
    ]


def test_accepting_applies_the_proposal_with_cause_cascade(cascaded, world, api):
    step = reviews(cascaded)[cascaded.trials.pk]
    response = api(cascaded.trials.owner).post(
        f"/api/v1/orgs/acme/steps/{step.pk}/answer/", {"answer": "accept"}
    )
    assert response.status_code == 200
    assert response.json()["state"] == "done"
    cascaded.trials.refresh_from_db()
    assert cascaded.trials.target == D(1600)
    revision = PlanRevision.objects.filter(kr=cascaded.trials).last()
    assert revision.cause == "cascade"
    assert revision.after_values == ["480", "480", "640"]
    assert "Website visitors" in revision.rationale


def test_declining_keeps_the_plan_and_needs_a_note(cascaded, world, api):
    step = reviews(cascaded)[cascaded.paid.pk]
    url = f"/api/v1/orgs/acme/steps/{step.pk}/answer/"
    response = api(world.sales_lead).post(url, {"answer": "decline"})
    assert response.status_code == 400
    assert "note" in response.json()
    step.refresh_from_db()
    assert step.state == "open"
    response = api(world.sales_lead).post(
        url, {"answer": "decline", "note": "Our win rate is up: 500 still holds"}
    )
    assert response.status_code == 200
    assert response.json()["state"] == "declined"
    cascaded.paid.refresh_from_db()
    assert cascaded.paid.target == D(500)


def test_the_cascade_stays_pending_until_every_review_is_answered(cascaded, world, api):
    url = f"/api/v1/orgs/acme/krs/{cascaded.parent.pk}/alignment/"
    open_reviews = reviews(cascaded)
    api(cascaded.trials.owner).post(
        f"/api/v1/orgs/acme/steps/{open_reviews[cascaded.trials.pk].pk}/answer/",
        {"answer": "accept"},
    )
    pending = [
        c for c in api(world.owner).get(url).json()["checks"] if c["code"] == "cascade_pending"
    ]
    assert [r["department"] for r in pending[0]["data"]["reviews"]] == ["Sales"]
    api(world.sales_lead).post(
        f"/api/v1/orgs/acme/steps/{open_reviews[cascaded.paid.pk].pk}/answer/",
        {"answer": "accept"},
    )
    codes = [c["code"] for c in api(world.owner).get(url).json()["checks"]]
    assert "cascade_pending" not in codes
    assert "aggregate_gap" in codes  # 400 paid against 500: the parent owner decides


def test_only_the_assignee_answers_once(cascaded, world, api):
    step = reviews(cascaded)[cascaded.paid.pk]
    url = f"/api/v1/orgs/acme/steps/{step.pk}/answer/"
    assert api(world.marketing_lead).post(url, {"answer": "accept"}).status_code == 403
    assert api(world.viewer).post(url, {"answer": "accept"}).status_code == 403
    assert api(world.sales_lead).post(url, {"answer": "maybe"}).status_code == 400
    assert api(world.sales_lead).post(url, {"answer": "no_change"}).status_code == 400
    assert api(world.sales_lead).post(url, {"answer": "accept"}).status_code == 200
    again = api(world.sales_lead).post(url, {"answer": "accept"})
    assert again.status_code == 400
    assert "done already" in again.json()["answer"][0]


def test_a_newer_upstream_change_supersedes_the_open_review(cascaded):
    set_plan(cascaded.visitors, [3000, 3000, 3000], rationale="Budget partly restored")
    steps = Step.objects.filter(kr=cascaded.trials, kind="cascade_review")
    assert sorted((s.state, s.proposed_target) for s in steps) == [
        ("open", D(1800)),
        ("superseded", D(1600)),
    ]


def test_a_level_stage_is_proposed_its_plan_scaled_not_a_straight_line(funnel, world):
    """SPEC.md §3: the proposal is the stage's plan "scaled by the same factor", for a
    level too (it was a straight line from the start value, the plan's shape lost)."""
    from hierarchy import services as hs

    trials = funnel.trials
    plan = trials.plan
    plan.refresh_from_db()
    hs.kr_measure_update(kr=trials, metric_kind="level")
    set_plan(trials, [500, 1200, 2000])
    lock(funnel.parent)
    set_plan(funnel.visitors, [2400, 2400, 3200], rationale="Paid search budget cut")
    review = reviews(funnel)[trials.pk]
    assert review.proposed_target == D(1600)
    assert review.proposed_values == [D(400), D(960), D(1600)]  # 500, 1200, 2000 × 0.8
