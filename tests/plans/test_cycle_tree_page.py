"""The cycle pages: /o/<org>/cycles/ and a cycle's KR tree /o/<org>/cycles/<id>/."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hierarchy import services as hs
from plans import services as ps
from tests.planning import make_kr

D = Decimal
MARCH_END = date(2026, 3, 31)


def tree_url(cycle) -> str:
    return f"/o/acme/cycles/{cycle.pk}/"


def row(page: str, kr) -> str:
    """The <tr> of one KR."""
    match = re.search(rf'<tr id="kr-{kr.pk}".*?</tr>', page, re.S)
    assert match, f"no row for {kr.title}"
    return match.group(0)


def test_it_shows_the_cycle_and_its_dates(planning, world, client):
    client.force_login(world.viewer)
    response = client.get(tree_url(planning.cycle))
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Q1 2026</h1>" in page
    assert "1 Jan 2026" in page and "31 Mar 2026" in page
    for label in ("Jan 2026", "Feb 2026", "Mar 2026"):
        assert label in page
    cycle = planning.cycle
    assert f'datetime="{cycle.alignment_meeting:%Y-%m-%d}"' in page
    assert f'datetime="{cycle.midcycle_check:%Y-%m-%d}"' in page


def test_it_nests_the_children_after_their_parent(planning, world, client):
    client.force_login(world.admin)
    page = client.get(tree_url(planning.cycle)).content.decode()
    assert "Grow new business" in page
    order = [
        page.index(f'id="kr-{kr.pk}"')
        for kr in (
            planning.pipeline,
            planning.marketing_kr,
            planning.sales_kr,
            planning.partnerships_kr,
        )
    ]
    assert order == sorted(order)
    assert 'data-depth="0"' in row(page, planning.pipeline)
    for child in (planning.marketing_kr, planning.sales_kr, planning.partnerships_kr):
        assert 'data-depth="1"' in row(page, child)
    parent = row(page, planning.pipeline)
    assert "Additive" in parent  # the aggregation, for parents
    assert "5,000,000 USD" in parent
    assert "Sales" in parent and "owner" in parent
    marketing = row(page, planning.marketing_kr)
    assert "Marketing" in marketing and "maya" in marketing and "3,000,000 USD" in marketing
    assert "Additive" not in marketing  # not a parent


def test_it_follows_a_deeper_tree(planning, world, client):
    grandchild = make_kr(
        world,
        planning.objective,
        title="Webinar pipeline",
        department=world.marketing,
        owner=world.marketing_lead,
        parent=planning.marketing_kr,
    )
    client.force_login(world.admin)
    page = client.get(tree_url(planning.cycle)).content.decode()
    assert 'data-depth="2"' in row(page, grandchild)
    positions = [page.index(f'id="kr-{kr.pk}"') for kr in (planning.marketing_kr, grandchild)]
    assert positions[0] < positions[1] < page.index(f'id="kr-{planning.sales_kr.pk}"')


def test_a_child_in_another_objective_is_listed_there_and_names_its_parent(planning, world, client):
    other = hs.objective_create(
        org=world.org, cycle=planning.cycle, title="Marketing engine", owner=world.marketing_lead
    )
    child = make_kr(
        world,
        other,
        title="Event pipeline",
        department=world.marketing,
        owner=world.marketing_lead,
        parent=planning.pipeline,
    )
    client.force_login(world.admin)
    page = client.get(tree_url(planning.cycle)).content.decode()
    assert page.count(f'id="kr-{child.pk}"') == 1
    assert page.index(f'id="objective-{other.pk}"') < page.index(f'id="kr-{child.pk}"')
    own = row(page, child)
    assert 'data-depth="0"' in own
    assert f'Contributes to <a href="#kr-{planning.pipeline.pk}">' in own


def test_it_links_the_shared_badge_to_the_combined_view(planning, world, client):
    client.force_login(world.viewer)
    page = client.get(tree_url(planning.cycle)).content.decode()
    link = f'<a class="badge badge-shared" href="/o/acme/krs/{planning.pipeline.pk}/alignment/">'
    assert link in row(page, planning.pipeline)
    assert "badge-shared" not in row(page, planning.marketing_kr)


def test_it_shows_progress_statuses_after_check_ins(planning, world, client):
    client.force_login(world.admin)
    page = client.get(tree_url(planning.cycle)).content.decode()
    assert "progress-not_started" in row(page, planning.marketing_kr)
    assert "progress-on_track" not in page

    # January plans: Marketing 1,000,000; Sales 500,000; Partnerships 100,000.
    checkins = [
        (planning.marketing_kr, "950000"),  # 95 %: on track
        (planning.sales_kr, "400000"),  # 80 %: at risk
        (planning.partnerships_kr, "10000"),  # 10 %: off track
    ]
    for kr, value in checkins:
        kr.refresh_from_db()
        ps.checkin_create(kr=kr, period=0, value=D(value), author=kr.owner, today=MARCH_END)

    page = client.get(tree_url(planning.cycle)).content.decode()
    marketing = row(page, planning.marketing_kr)
    assert "progress-on_track" in marketing and "On track" in marketing
    assert "31.67%" in marketing  # 950,000 of 3,000,000
    assert "progress-at_risk" in row(page, planning.sales_kr)
    assert "progress-off_track" in row(page, planning.partnerships_kr)
    # the shared KR is its contributions' (issue 16): 1,360,000 of its January plan of
    # 1,666,666.67 (81.6 %: at risk), 27.2 % of its target; tests/plans/test_shared_progress.py
    assert "progress-at_risk" in row(page, planning.pipeline)
    assert "27.2%" in row(page, planning.pipeline)
    assert "Weighted progress" in page


def test_a_foreign_cycle_is_not_found(planning, world, client):
    foreign = hs.cycle_create(
        org=world.other_org,
        name="Globex Q1",
        start=date(2026, 1, 1),
        end=date(2026, 3, 31),
        granularity="month",
    )
    client.force_login(world.admin)
    assert client.get(f"/o/acme/cycles/{foreign.pk}/").status_code == 404
    assert client.get("/o/acme/cycles/999999/").status_code == 404


def test_an_outsider_gets_404(planning, world, client):
    client.force_login(world.outsider)
    assert client.get(tree_url(planning.cycle)).status_code == 404
    assert client.get("/o/acme/cycles/").status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(planning, client):
    for url in (tree_url(planning.cycle), "/o/acme/cycles/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def _cycle_with_krs(world, name: str, count: int, end: date = date(2026, 3, 31)):
    """A cycle of `count` KRs: parents of three children each, children in two departments,
    each child checked in for January. (Two cycles have different dates: the same start
    and end twice is refused.)"""
    cycle = hs.cycle_create(
        org=world.org, name=name, start=date(2026, 1, 1), end=end, granularity="month"
    )
    objective = hs.objective_create(
        org=world.org, cycle=cycle, title=f"{name} goal", owner=world.owner
    )
    made = 0
    while made < count:
        parent = make_kr(world, objective, title=f"{name} parent {made}")
        made += 1
        for i in range(min(3, count - made)):
            department, lead = (
                (world.marketing, world.marketing_lead)
                if i % 2
                else (world.sales, world.sales_lead)
            )
            child = make_kr(
                world,
                objective,
                title=f"{name} child {made}",
                department=department,
                owner=lead,
                parent=parent,
            )
            ps.checkin_create(kr=child, period=0, value=D(10), author=lead, today=MARCH_END)
            made += 1
    return cycle


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_it_costs_the_same_queries_for_4_and_for_40_krs(world, client):
    small = _cycle_with_krs(world, "Small", 4)
    large = _cycle_with_krs(world, "Large", 40, end=date(2026, 3, 30))
    client.force_login(world.admin)
    small_count = _queries(client, tree_url(small))
    large_count = _queries(client, tree_url(large))
    assert small_count == large_count
    assert (
        large_count <= 9
    )  # session, user, membership, cycle, objectives, KRs, check-ins, + the base template's 2


def test_it_costs_the_same_queries_for_200_and_for_2000_krs(world, client):
    """The benchmark's tree (bench/tenants.py, the `cycle_tree` figure): shared KRs of
    four contributions in two departments, each contribution checked in six times."""
    from bench.tenants import tree_cycle_build

    people = [world.owner, world.sales_lead, world.marketing_lead, world.member]
    departments = [world.sales, world.marketing]
    small, large = (
        tree_cycle_build(
            org=world.org, name=name, people=people, departments=departments, krs=krs,
            start=start,
        )
        for name, krs, start in (
            ("Small", 200, date(2025, 7, 7)), ("Large", 2000, date(2025, 10, 6))
        )
    )  # fmt: skip
    client.force_login(world.admin)
    small_count = _queries(client, tree_url(small))
    large_count = _queries(client, tree_url(large))
    assert small_count == large_count
    assert large_count <= 9


def test_the_cycles_list_is_newest_first_and_marks_the_current_one(planning, world, client):
    today = timezone.localdate()
    current = hs.cycle_create(
        org=world.org,
        name="Now",
        start=today - timedelta(days=10),
        end=today + timedelta(days=50),
        granularity="week",
    )
    old = hs.cycle_create(
        org=world.org,
        name="Q3 2024",
        start=date(2024, 7, 1),
        end=date(2024, 9, 30),
        granularity="month",
    )
    hs.cycle_create(
        org=world.other_org,
        name="Globex cycle",
        start=date(2026, 1, 1),
        end=date(2026, 3, 31),
        granularity="month",
    )
    client.force_login(world.viewer)
    with CaptureQueriesContext(connection) as ctx:
        page = client.get("/o/acme/cycles/").content.decode()
    assert (
        len(ctx.captured_queries) <= 6
    )  # session, user, membership, cycles, + the base template's 2
    links = [f'href="/o/acme/cycles/{c.pk}/"' for c in (current, planning.cycle, old)]
    positions = [page.index(link) for link in links]
    assert positions == sorted(positions)
    assert "Globex cycle" not in page
    current_row = re.search(r'<tr class="current">.*?</tr>', page, re.S).group(0)
    assert links[0] in current_row and "badge-current" in current_row
    assert page.count("badge-current") == 1
    assert '<a href="/o/acme/cycles/" aria-current="page">Cycles</a>' in page


@pytest.mark.parametrize("who", ["viewer", "member"])
def test_read_only_and_plain_members_may_read_the_tree(planning, world, client, who):
    client.force_login(getattr(world, who))
    assert client.get(tree_url(planning.cycle)).status_code == 200


def test_it_links_each_kr_to_its_plan(planning, world, client):
    client.force_login(world.viewer)
    page = client.get(tree_url(planning.cycle)).content.decode()
    for kr in (planning.pipeline, planning.marketing_kr):
        link = f'<a class="title" href="/o/acme/krs/{kr.pk}/plan/">{kr.title}</a>'
        assert link in row(page, kr)


@pytest.mark.parametrize("org", ["acme", "t9007199254740993", "x1"])
def test_each_rows_links_go_where_their_names_say(org):
    """A row's links and buttons are built from one reversal per URL name
    (`plans.views.RowUrl`): the same URLs as reversing each, whatever the organization's
    slug (here one holding the id's placeholder)."""
    from django.urls import reverse

    from plans.views import ROW_URLS, RowUrl

    for name in ROW_URLS:
        url = RowUrl.of(name, org)
        for pk in (1, 42, 9007199254740993):
            assert url(pk) == reverse(name, args=[org, pk])
