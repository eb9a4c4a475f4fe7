"""The step page (/o/<org>/steps/<id>/): cascade reviews and assess steps answered in
the browser through `step_answer`, the service behind POST .../steps/{id}/answer/."""

from decimal import Decimal

import pytest
from django.test import Client

from notifications.models import Round, RoundEvent, Step
from notifications.services import round_notice
from plans.models import Plan, PlanRevision
from tests.planning import lock, make_kr, set_plan

D = Decimal


def url(step) -> str:
    return f"/o/acme/steps/{step.pk}/"


@pytest.fixture
def cascaded(funnel):
    """SPEC.md §8 Sequential: Marketing cuts visitors to 8,000 in the locked funnel."""
    lock(funnel.parent)
    set_plan(funnel.visitors, [2400, 2400, 3200], rationale="Paid search budget cut")
    return funnel


def review_of(kr) -> Step:
    return Step.objects.get(kind="cascade_review", kr=kr)


@pytest.fixture
def assessing(planning, world):
    """Marketing modified its locked plan; the parent owner sent the impact notice."""
    lock(planning.pipeline)
    set_plan(planning.marketing_kr, [800000] * 3, rationale="Channel algorithm change")
    round = Round.objects.get()
    round_notice(round=round, actor=world.owner, message="Can Sales absorb part of it?")
    return Step.objects.get(kind="assess", kr=planning.sales_kr)


def test_it_shows_a_cascade_review_with_the_proposed_target_and_values(cascaded, world, client):
    step = review_of(cascaded.paid)
    client.force_login(world.sales_lead)
    response = client.get(url(step))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Review a cascade from upstream: Trials converted" in html
    assert '<th scope="row">Feb 2026</th><td class="num">150</td><td class="num">120</td>' in html
    assert 'id="proposed-target">400 paid<' in html
    assert 'id="answer-accept" value="accept"' in html and 'id="answer-decline"' in html
    assert "Set off by" in html and "Website visitors" in html


def test_it_applies_the_proposal_on_accept(cascaded, world, client):
    step = review_of(cascaded.paid)
    client.force_login(world.sales_lead)
    response = client.post(url(step), {"answer": "accept"})
    assert response.status_code == 302 and response["Location"] == url(step)
    step.refresh_from_db()
    assert step.state == "done" and step.answer == "accept"
    assert Plan.objects.get(kr=cascaded.paid).values == [D(80), D(120), D(200)]
    assert PlanRevision.objects.filter(kr=cascaded.paid).last().cause == "cascade"
    html = client.get(url(step)).content.decode()
    assert "Answered “Accept”." in html and "This step is done" in html
    assert 'name="answer"' not in html


def test_it_needs_a_note_to_decline_and_keeps_what_was_chosen(cascaded, world, client):
    step = review_of(cascaded.paid)
    client.force_login(world.sales_lead)
    response = client.post(url(step), {"answer": "decline", "note": "  "})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Say why you keep your plan (the note is shared)." in html
    assert 'id="note-error"' in html
    assert 'value="decline" checked' in html
    step.refresh_from_db()
    assert step.state == "open"

    response = client.post(url(step), {"answer": "decline", "note": "Sales keeps 500"})
    assert response.status_code == 302
    step.refresh_from_db()
    assert (step.state, step.note) == ("declined", "Sales keeps 500")
    assert Plan.objects.get(kr=cascaded.paid).values == [D(100), D(150), D(250)]


def test_it_refuses_a_wrong_or_missing_answer_inline(cascaded, world, client):
    step = review_of(cascaded.paid)
    client.force_login(world.sales_lead)
    response = client.post(url(step), {"answer": "no_change"})
    assert response.status_code == 400
    assert "Answer a cascade review with accept or decline." in response.content.decode()
    response = client.post(url(step), {})
    assert "Choose an answer." in response.content.decode()
    step.refresh_from_db()
    assert step.state == "open"


def test_it_answers_an_assess_step_with_no_change(assessing, planning, world, client):
    client.force_login(world.sales_lead)
    html = client.get(url(assessing)).content.decode()
    assert "Assess the impact: Sales outbound pipeline" in html
    assert f"{assessing.round.label} of “Generate $5M in new pipeline”" in html
    assert f'href="/o/acme/krs/{planning.sales_kr.pk}/plan/"' in html
    assert 'id="answer-no_change"' in html and 'id="answer-modified"' in html
    response = client.post(url(assessing), {"answer": "no_change", "note": "We hold"})
    assert response.status_code == 302
    assessing.refresh_from_db()
    assert (assessing.state, assessing.answer) == ("done", "no_change")
    assert RoundEvent.objects.filter(round=assessing.round, kind="assessed").exists()


def test_it_lets_only_the_assignee_answer(cascaded, world, client):
    step = review_of(cascaded.paid)
    for user in (world.admin, world.owner, world.viewer):
        client.force_login(user)
        html = client.get(url(step)).content.decode()
        assert 'id="not-yours"' in html and 'name="answer"' not in html
        assert client.post(url(step), {"answer": "accept"}).status_code == 403
    step.refresh_from_db()
    assert step.state == "open"


def test_it_refuses_a_viewer_even_as_assignee(cascaded, world, client):
    step = review_of(cascaded.paid)
    Step.objects.filter(pk=step.pk).update(assignee=world.viewer)
    client.force_login(world.viewer)
    assert client.post(url(step), {"answer": "accept"}).status_code == 403


def test_it_is_404_for_an_outsider_and_a_foreign_step(cascaded, world, client):
    step = review_of(cascaded.paid)
    client.force_login(world.outsider)
    assert client.get(url(step)).status_code == 404
    assert client.post(url(step), {"answer": "accept"}).status_code == 404
    client.force_login(world.sales_lead)
    assert client.get("/o/acme/steps/999999/").status_code == 404
    assert client.get(f"/o/globex/steps/{step.pk}/").status_code == 404


def test_it_refuses_a_post_without_a_csrf_token(cascaded, world):
    step = review_of(cascaded.paid)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.sales_lead)
    assert client.post(url(step), {"answer": "accept"}).status_code == 403
    step.refresh_from_db()
    assert step.state == "open"


@pytest.mark.parametrize("extra_children", [0, 20])
def test_it_costs_a_fixed_number_of_queries(
    assessing, planning, world, client, django_assert_num_queries, extra_children
):
    for n in range(extra_children):
        make_kr(world, planning.objective, title=f"R{n}", parent=planning.pipeline)
    client.force_login(world.sales_lead)
    # session, user, scope; the step with its KR, plan, round; the badge's count (the
    # badge reuses the view's scope)
    with django_assert_num_queries(5):
        assert client.get(url(assessing)).status_code == 200


def test_it_refuses_a_nul_character_in_the_note(assessing, world, client):
    """PostgreSQL cannot store a NUL (500 there before, found by fuzzing): 400, inline."""
    client.force_login(world.sales_lead)
    response = client.post(url(assessing), {"answer": "no_change", "note": "We\x00hold"})
    assert response.status_code == 400
    assert "Remove the null character: it cannot be stored." in response.content.decode()
    assessing.refresh_from_db()
    assert assessing.state == "open"
