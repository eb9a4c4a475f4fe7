"""My work (/o/<org>/me/): a lead's KRs and open steps, each linking to where it is done."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from hierarchy import services as hs
from notifications.models import Step
from plans.models import CheckIn
from tests.planning import make_kr, set_plan

D = Decimal
URL = "/o/acme/me/"


def open_step(world, kr, assignee, *, due_in: timedelta, kind="cascade_review", **extra) -> Step:
    due = timezone.now() + due_in
    return Step.objects.create(
        organization=world.org,
        kind=kind,
        kr=kr,
        assignee=assignee,
        due_at=due,
        remind_at=due,
        **extra,
    )


def test_it_lists_the_krs_i_own_and_those_of_departments_i_lead(planning, world, client):
    theirs = make_kr(
        world,
        planning.objective,
        title="Webinar signups",
        department=world.marketing,
        owner=world.member,
        unit="signups",
    )
    set_plan(theirs, [10, 20, 30])
    CheckIn.objects.create(
        organization=world.org,
        kr=planning.marketing_kr,
        period=0,
        value=D(950000),
        author=world.marketing_lead,
    )
    client.force_login(world.marketing_lead)
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<a href="/o/acme/krs/{planning.marketing_kr.pk}/plan/">Marketing pipeline</a>' in html
    assert f'<a href="/o/acme/krs/{theirs.pk}/plan/">Webinar signups</a>' in html
    assert "Sales outbound pipeline" not in html and "Partner-sourced" not in html
    assert "3,000,000 USD" in html and "60 signups" in html
    # 950,000 of 1,000,000 planned to date: on track; 950,000 / 3,000,000 = 31.67%
    assert '<span class="progress progress-on_track">On track</span>' in html
    assert "31.67%" in html
    assert f'href="/o/acme/krs/{planning.pipeline.pk}/alignment/"' in html
    assert "Nothing is waiting for you." in html


def test_it_lists_my_open_steps_with_overdue_ones_marked_in_words(planning, world, client):
    late = open_step(world, planning.marketing_kr, world.marketing_lead, due_in=-timedelta(hours=3))
    soon = open_step(
        world, planning.marketing_kr, world.marketing_lead, due_in=timedelta(days=1), kind="assess"
    )
    open_step(world, planning.sales_kr, world.sales_lead, due_in=timedelta(days=1))
    done = open_step(world, planning.marketing_kr, world.marketing_lead, due_in=timedelta(days=2))
    Step.objects.filter(pk=done.pk).update(state="done")
    client.force_login(world.marketing_lead)
    html = client.get(URL).content.decode()
    assert f'<tr id="step-{late.pk}" class="overdue">' in html
    assert f'<tr id="step-{soon.pk}">' in html
    assert html.count('<span class="badge badge-critical">3\xa0hours overdue</span>') == 1
    assert html.count("badge-critical") == 1
    assert html.index(f"step-{late.pk}") < html.index(f"step-{soon.pk}")  # due first
    assert f'href="/o/acme/steps/{late.pk}/"' in html and f'href="/o/acme/steps/{soon.pk}/"' in html
    assert "Review a cascade from upstream" in html and "Assess the impact" in html
    assert f"step-{done.pk}" not in html
    assert "Sales outbound pipeline" not in html


def test_it_is_linked_from_the_top_nav(world, client):
    client.force_login(world.viewer)
    html = client.get("/o/acme/").content.decode()
    assert '<a href="/o/acme/me/">My work</a>' in html
    html = client.get(URL).content.decode()
    assert '<a href="/o/acme/me/" aria-current="page">My work</a>' in html
    assert "You own no key result" in html


def test_it_is_404_for_an_outsider(planning, world, client):
    client.force_login(world.outsider)
    assert client.get(URL).status_code == 404
    assert client.get("/o/globex/me/").status_code == 200  # their own organization


@pytest.mark.parametrize("count", [3, 30])
def test_it_costs_the_same_queries_for_3_and_30_krs(
    planning, world, client, django_assert_num_queries, count
):
    for n in range(count):
        kr = make_kr(
            world,
            planning.objective,
            title=f"Region {n}",
            parent=planning.pipeline,
            department=world.marketing,
            owner=world.marketing_lead,
        )
        CheckIn.objects.create(
            organization=world.org, kr=kr, period=0, value=D(1), author=world.marketing_lead
        )
        open_step(world, kr, world.marketing_lead, due_in=timedelta(hours=n - 5))
    client.force_login(world.marketing_lead)
    # session, user, scope; the KRs, their check-ins, their contributions (none: their
    # actuals are their own, plans/actuals.py); the steps; the badge's count (the badge
    # reuses the view's scope)
    with django_assert_num_queries(8):
        response = client.get(URL)
    assert response.content.decode().count('href="/o/acme/steps/') == count


def test_every_row_says_which_period_it_is_about(planning, world, client):
    weekly = hs.cycle_create(
        org=world.org,
        name="Sprint 4",
        start=date(2026, 4, 6),
        end=date(2026, 5, 3),
        granularity="week",
    )
    objective = hs.objective_create(
        org=world.org, cycle=weekly, title="Ship", owner=world.marketing_lead
    )
    sprint_kr = make_kr(
        world, objective, title="Signups", owner=world.marketing_lead, department=world.marketing
    )
    checkin = open_step(
        world,
        planning.marketing_kr,
        world.marketing_lead,
        due_in=timedelta(hours=1),
        kind="checkin",
        period=1,
    )
    weekly_checkin = open_step(
        world, sprint_kr, world.marketing_lead, due_in=timedelta(hours=2), kind="checkin", period=1
    )
    assess = open_step(
        world,
        planning.marketing_kr,
        world.marketing_lead,
        due_in=timedelta(hours=3),
        kind="assess",
    )
    client.force_login(world.marketing_lead)
    html = client.get(URL).content.decode()

    def row(row_id: str) -> str:
        return re.search(rf'<tr id="{row_id}".*?</tr>', html, re.S).group(0)

    assert '<th scope="row">Check in for Feb 2026</th>' in row(f"step-{checkin.pk}")
    assert '<th scope="row">Check in for W2 of Sprint 4 (13 Apr \u2013 19 Apr 2026)</th>' in row(
        f"step-{weekly_checkin.pk}"
    )
    assert (
        '<th scope="row">Assess the impact<span class="sub">Plan: Q1 2026 (3 months)</span></th>'
        in row(f"step-{assess.pk}")
    )
    assert '<td class="span" data-label="Plan period">Q1 2026 (3 months)</td>' in row(
        f"kr-{planning.marketing_kr.pk}"
    )
    assert '<td class="span" data-label="Plan period">Sprint 4 (4 weeks)</td>' in row(
        f"kr-{sprint_kr.pk}"
    )


def test_two_check_ins_of_one_kr_are_told_apart_everywhere(planning, world, client):
    """Issue 16 §5: two "Check in" rows of the same KR looked the same (their links, the
    step page): each says its period."""
    steps = [
        open_step(
            world,
            planning.marketing_kr,
            world.marketing_lead,
            due_in=timedelta(hours=1 + period),
            kind="checkin",
            period=period,
        )
        for period in (0, 1)
    ]
    client.force_login(world.marketing_lead)
    html = client.get(URL).content.decode()
    links = [
        re.sub(r"<[^>]+>", "", re.search(rf'href="/o/acme/steps/{s.pk}/">(.*?)</a>', html).group(1))
        for s in steps
    ]
    assert links == [
        "Open: Check in for Jan 2026 of “Marketing pipeline”",
        "Open: Check in for Feb 2026 of “Marketing pipeline”",
    ]
    page = client.get(f"/o/acme/steps/{steps[1].pk}/").content.decode()
    assert "<h1>Check in for Feb 2026: Marketing pipeline</h1>" in page
    assert "<title>Check in for Feb 2026 · Marketing pipeline" in page
