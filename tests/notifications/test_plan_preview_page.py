"""The plan editor's live impact preview (/o/<org>/krs/<id>/plan/preview/): an htmx
fragment from the same computation as the API's POST .../plan/preview/."""

from decimal import Decimal

import pytest
from django.test import Client

from notifications.models import Notification, Round, Step
from plans.models import Plan, PlanRevision
from tests.planning import lock, make_kr, set_plan

D = Decimal


def url(kr) -> str:
    return f"/o/acme/krs/{kr.pk}/plan/preview/"


def preview(client, kr, values, version=2):
    return client.post(url(kr), {"values": values, "version": version}, HTTP_HX_REQUEST="true")


def _nothing_written(kr):
    assert Plan.objects.get(kr=kr).version == 2
    assert not PlanRevision.objects.filter(kr=kr, version=3).exists()
    assert not Round.objects.exists() and not Step.objects.exists()


def test_it_shows_the_shared_total_gap_checks_and_who_would_be_told(planning, world, client):
    lock(planning.pipeline)
    notified = Notification.objects.count()
    client.force_login(world.marketing_lead)
    response = preview(client, planning.marketing_kr, ["800000", "800000", "800000"])
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert '<span class="before">5,000,000 USD</span>' in html
    assert "<strong>4,400,000 USD</strong>" in html
    assert "<strong>600,000 USD (12.00%)</strong>" in html
    assert "600,000 short (12.00%)" in html and "tag-new" in html
    assert '<strong>owner</strong> <span class="muted">(threshold)</span>' in html
    assert "the shared total moves" in html
    assert "a locked plan is modified: a modification round starts" not in html  # told once
    assert "The plan is locked: saving this needs a rationale." in html
    _nothing_written(planning.marketing_kr)
    assert Notification.objects.count() == notified


def test_it_says_nobody_is_told_about_a_draft(planning, world, client):
    client.force_login(world.marketing_lead)
    html = preview(client, planning.marketing_kr, ["1000000", "1000000", "900000"]).content
    assert "Nobody: this change sets off no notice." in html.decode()


def test_it_asks_to_fix_a_bad_value_first(planning, world, client):
    client.force_login(world.marketing_lead)
    html = preview(client, planning.marketing_kr, ["1", "-1", "1"]).content.decode()
    assert 'id="preview-error"' in html
    assert "Fix the values to see the impact. Feb 2026 (value 2)" in html
    html = preview(client, planning.marketing_kr, ["1", "x", "1"]).content.decode()
    assert "Feb 2026 (value 2): “x” is not a number (write digits" in html


def test_it_says_when_the_plan_changed_meanwhile(planning, world, client):
    client.force_login(world.marketing_lead)
    html = preview(client, planning.marketing_kr, ["1", "2", "3"], version=1).content.decode()
    assert "saved by someone else since you opened it (now version 2)" in html


def test_it_is_403_for_a_viewer_and_a_member_who_may_not_edit(planning, world, client):
    for user in (world.viewer, world.sales_lead):
        client.force_login(user)
        assert preview(client, planning.marketing_kr, ["1", "2", "3"]).status_code == 403


def test_it_is_404_for_an_outsider_and_refuses_get(planning, world, client):
    client.force_login(world.outsider)
    assert preview(client, planning.marketing_kr, ["1", "2", "3"]).status_code == 404
    client.force_login(world.marketing_lead)
    assert client.get(url(planning.marketing_kr)).status_code == 405


def test_it_refuses_a_post_without_a_csrf_token(planning, world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.marketing_lead)
    assert preview(client, planning.marketing_kr, ["1", "2", "3"]).status_code == 403


@pytest.mark.parametrize("siblings", [3, 30])
def test_it_costs_the_same_queries_for_few_and_many_children(
    planning, world, client, django_assert_num_queries, siblings
):
    for n in range(siblings):
        child = make_kr(
            world,
            planning.objective,
            title=f"Region {n}",
            parent=planning.pipeline,
            department=world.sales,
            owner=world.sales_lead,
        )
        set_plan(child, [10, 10, 10])
    lock(planning.pipeline)  # after: a KR that joins a locked parent is locked with it
    client.force_login(world.marketing_lead)
    version = Plan.objects.get(kr=planning.marketing_kr).version
    # session, user, scope; the KR; its parent; the parent's reviews, rounds, children,
    # links; has the KR children; the rule (no unread badge: the fragment shows none)
    with django_assert_num_queries(11):
        response = preview(client, planning.marketing_kr, ["1", "2", "3"], version=version)
    assert response.status_code == 200


def test_it_previews_a_funnel_cascade_and_who_must_review(funnel, world, client):
    lock(funnel.parent)
    client.force_login(world.marketing_lead)
    html = preview(client, funnel.visitors, ["2400", "2400", "3200"]).content.decode()
    assert "Implied output" in html
    assert "<strong>100 paid (20.00%)</strong>" in html  # 500 − 400
    assert '<strong>priya</strong> <span class="muted">(review)</span>' in html
    assert "stage 2&#x27;s implied target becomes 1600" in html
    assert "<strong>sam</strong>" in html and "stage 3&#x27;s implied target becomes 400" in html
    assert not Step.objects.exists()


def test_it_previews_the_parallel_claims(nps, world, client):
    client.force_login(world.marketing_lead)
    html = preview(client, nps.success, ["30", "35", "40"]).content.decode()
    assert "<strong>15 points</strong>" in html and "<strong>11.25 points</strong>" in html
    assert "<strong>13 points</strong>" in html
