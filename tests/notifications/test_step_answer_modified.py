"""“Modified” answers a step only when the plan was modified (SPEC.md §5; issue 16 §5).

SPEC.md §5's assess step: each other contributor answers `no_change`, or modifies their
plan. So "modified" says the KR's plan changed while the step was open (a locked plan's
modification answers its assess step by itself; an accepted cascade or a review's plan
change does not): without such a change it is refused, with a 400 naming `answer`, and
nothing is written."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from notifications.models import Round, RoundEvent, Step
from notifications.services import round_notice
from tests.planning import lock, set_plan


def answer_url(step) -> str:
    return f"/api/v1/orgs/acme/steps/{step.pk}/answer/"


@pytest.fixture
def assessing(planning, world):
    """Marketing modified its locked plan; the parent owner sent the impact notice."""
    lock(planning.pipeline)
    set_plan(planning.marketing_kr, [800000] * 3, rationale="Channel algorithm change")
    round_notice(round=Round.objects.get(), actor=world.owner, message="Can Sales absorb it?")
    return Step.objects.get(kind="assess", kr=planning.sales_kr)


def _still_open(step):
    step.refresh_from_db()
    assert (step.state, step.answer) == ("open", "")
    assert not RoundEvent.objects.filter(round=step.round_id, kind="assessed").exists()


def test_the_api_refuses_modified_when_the_plan_was_not(assessing, world, api):
    response = api(world.sales_lead).post(
        answer_url(assessing), {"answer": "modified", "note": "We changed it"}, format="json"
    )
    assert response.status_code == 400, response.json()
    message = response.json()["answer"][0]
    assert "“Sales outbound pipeline” has no plan change since this step opened" in message
    assert "No change" in message
    _still_open(assessing)


def test_the_step_page_shows_the_refusal_at_the_answer(assessing, world, client):
    client.force_login(world.sales_lead)
    response = client.post(f"/o/acme/steps/{assessing.pk}/", {"answer": "modified"})
    assert response.status_code == 400
    html = response.content.decode()
    assert '<ul class="errorlist" id="answer-error"><li>Nothing was modified:' in html
    assert 'aria-describedby="answer-error"' in html
    _still_open(assessing)


def test_a_plan_changed_before_the_step_opened_does_not_count(planning, world, api):
    lock(planning.pipeline)
    set_plan(
        planning.sales_kr, [500000, 500000, 600000], rationale="An early change", actor=world.admin
    )
    set_plan(planning.marketing_kr, [800000] * 3, rationale="Channel algorithm change")
    round_ = Round.objects.get(modified_kr=planning.marketing_kr)
    round_notice(round=round_, actor=world.owner, message="Can Sales absorb it?")
    step = Step.objects.get(kind="assess", kr=planning.sales_kr, round=round_)
    response = api(world.sales_lead).post(answer_url(step), {"answer": "modified"}, format="json")
    assert response.status_code == 400
    _still_open(step)


def test_a_review_answered_modified_after_the_plan_changed(planning, world, api):
    lock(planning.pipeline)
    api(world.admin).put(
        f"/api/v1/orgs/acme/krs/{planning.pipeline.pk}/propagation-rule/",
        {"upward": "threshold", "threshold_pct": 10, "downward": "review_required"},
        format="json",
    )
    api(world.owner).patch(
        f"/api/v1/orgs/acme/krs/{planning.pipeline.pk}/",
        {"target": "6000000", "rationale": "Board raised the bar"},
        format="json",
    )
    step = Step.objects.get(kind="downward_review", assignee=world.sales_lead)
    refused = api(world.sales_lead).post(answer_url(step), {"answer": "modified"}, format="json")
    assert refused.status_code == 400 and "answer" in refused.json()
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        set_plan(planning.sales_kr, [700000] * 3, rationale="We raise outbound")
        response = api(world.sales_lead).post(
            answer_url(step), {"answer": "modified"}, format="json"
        )
    assert response.status_code == 200, response.json()
    step.refresh_from_db()
    assert (step.state, step.answer) == ("done", "modified")
