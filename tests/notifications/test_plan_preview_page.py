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


# --- The preset's target (issue 16 §5): the preview shows what "Apply shape" saves ------


def test_the_preview_of_a_preset_is_what_applying_it_saves(planning, world, client):
    """The shape fieldset's inputs ask for the preview with `action=shape`: the preview is
    the preset's plan for the "Target to reach" typed there, not the period inputs; the
    gap it shows and the people it names are those the save then gives."""
    lock(planning.pipeline)
    kr = planning.marketing_kr
    client.force_login(world.marketing_lead)
    form = {
        "values": ["1000000", "1000000", "1000000"],  # the period inputs, untouched
        "shape": "linear",
        "target": "2,400,000",
        "version": 2,
        "rationale": "Channel algorithm change",
    }
    html = client.post(url(kr), {**form, "action": "shape"}, HTTP_HX_REQUEST="true")
    html = html.content.decode()
    assert "<strong>4,400,000 USD</strong>" in html  # 3M − 0.6M on the shared total
    assert "<strong>600,000 USD (12.00%)</strong>" in html
    assert '<strong>owner</strong> <span class="muted">(threshold)</span>' in html
    assert 'id="preview-of"' in html and "2,400,000 USD" in html
    _nothing_written(kr)

    saved = client.post(f"/o/acme/krs/{kr.pk}/plan/", {**form, "action": "shape"})
    assert saved.status_code == 302
    assert Plan.objects.get(kr=kr).values == [D(800000)] * 3
    assert Notification.objects.filter(user=world.owner, kind="threshold").exists()
    alignment = client.get(f"/o/acme/krs/{planning.pipeline.pk}/alignment/").content.decode()
    assert "600,000 short (12.00%)" in alignment


def test_the_preview_of_the_period_values_ignores_the_preset(planning, world, client):
    lock(planning.pipeline)
    client.force_login(world.marketing_lead)
    html = client.post(
        url(planning.marketing_kr),
        {
            "values": ["900000", "1000000", "1000000"],
            "shape": "linear",
            "target": "2,400,000",
            "version": 2,
        },
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "<strong>4,900,000 USD</strong>" in html  # the values typed, as "Save plan" saves
    assert "these values" in html


def test_the_preview_of_a_preset_shows_its_error_at_the_target(nps, world, client):
    client.force_login(world.marketing_lead)
    html = client.post(
        url(nps.success),
        {
            "values": ["30", "30", "40"],
            "shape": "linear",
            "target": "-1",
            "version": 2,
            "action": "shape",
        },
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert 'id="preview-error"' in html and "cannot be negative" in html


def test_the_plan_editors_preview_names_resolved_checks_in_words(planning, world, client):
    lock(planning.pipeline)
    set_plan(planning.marketing_kr, [800000] * 3, rationale="Channel algorithm change")
    client.force_login(world.marketing_lead)
    html = preview(client, planning.marketing_kr, ["1000000"] * 3, version=3).content.decode()
    assert "Resolved by this change: Gap against the target." in html, html
