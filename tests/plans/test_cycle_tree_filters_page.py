"""The cycle tree's filters (issue 14 item 6): department, owner, status, shared only and
archived ones, as GET parameters, in the same few queries whatever the size."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hierarchy import services as hs
from plans import services as ps
from tests.planning import make_kr

D = Decimal
MARCH_END = date(2026, 3, 31)


def tree(client, cycle, query="", **headers):
    response = client.get(f"/o/acme/cycles/{cycle.pk}/" + (f"?{query}" if query else ""), **headers)
    return response, response.content.decode()


def shown(page: str) -> dict[int, str]:
    """KR id → the row's classes, for the rows on the page."""
    return {
        int(pk): classes for pk, classes in re.findall(r'<tr id="kr-(\d+)" class="([^"]*)"', page)
    }


def test_it_filters_by_department_keeping_the_parents_as_context(planning, world, client):
    client.force_login(world.viewer)
    response, page = tree(client, planning.cycle, f"department={world.marketing.pk}")
    assert response.status_code == 200
    rows = shown(page)
    assert set(rows) == {planning.pipeline.pk, planning.marketing_kr.pk}
    assert "context" in rows[planning.pipeline.pk]  # shown as the parent of a match
    assert "context" not in rows[planning.marketing_kr.pk]
    assert re.search(rf'<option value="{world.marketing.pk}" selected>Marketing</option>', page)
    assert "Showing the key results that match" in page


def test_it_filters_by_owner_and_by_status(planning, world, client):
    ps.checkin_create(
        kr=planning.sales_kr,
        period=0,
        value=D(480000),
        author=world.sales_lead,
        today=MARCH_END,
    )
    client.force_login(world.member)
    _, page = tree(client, planning.cycle, "owner=sam")
    assert set(shown(page)) == {planning.pipeline.pk, planning.sales_kr.pk}
    _, page = tree(client, planning.cycle, "status=on_track")
    assert set(shown(page)) == {planning.pipeline.pk, planning.sales_kr.pk}
    _, page = tree(client, planning.cycle, "status=not_started&owner=maya")
    assert set(shown(page)) == {planning.pipeline.pk, planning.marketing_kr.pk}
    # the pipeline's actuals are its contributions' (issue 16): 480,000 of its January
    # plan of 1,666,666.67, off track (before, "not started" whatever they did)
    _, page = tree(client, planning.cycle, "status=off_track")
    assert set(shown(page)) == {planning.pipeline.pk}
    assert "context" not in shown(page)[planning.pipeline.pk]
    _, page = tree(client, planning.cycle, "status=at_risk")
    assert shown(page) == {}
    assert "No key results match these filters." in page
    assert "Add an objective" not in page  # no offers in a filtered view


def test_shared_only_shows_shared_krs_with_their_contributions(planning, world, client):
    alone = make_kr(world, planning.objective, title="Expansion pipeline")
    client.force_login(world.viewer)
    _, page = tree(client, planning.cycle, "shared=1")
    rows = shown(page)
    assert alone.pk not in rows
    assert set(rows) == {
        planning.pipeline.pk,
        planning.marketing_kr.pk,
        planning.sales_kr.pk,
        planning.partnerships_kr.pk,
    }
    assert not any("context" in c for c in rows.values())
    assert 'id="filter-shared" checked' in page


def test_a_filter_the_cycle_does_not_offer_is_refused_next_to_it(planning, world, client):
    client.force_login(world.viewer)
    response, page = tree(
        client, planning.cycle, f"department={world.other_department.pk}&status=great"
    )
    assert response.status_code == 200  # the tree, unfiltered by what was refused
    assert "Choose a department from the list." in page
    assert "Choose a status from the list." in page
    assert len(shown(page)) == 4
    assert f'value="{world.other_department.pk}"' not in page  # nothing of globex


def test_archived_ones_are_shown_only_when_asked_for(planning, world, client):
    other = make_kr(world, planning.objective, title="Expansion pipeline")
    hs.kr_archive(kr=other, actor=world.admin)
    client.force_login(world.viewer)
    _, page = tree(client, planning.cycle)
    assert other.pk not in shown(page)
    _, page = tree(client, planning.cycle, "archived=1")
    assert "archived" in shown(page)[other.pk]
    assert "Restore" not in page  # a viewer restores nothing


def test_with_htmx_the_filters_answer_the_trees_region(planning, world, client):
    client.force_login(world.viewer)
    response, page = tree(
        client,
        planning.cycle,
        f"department={world.sales.pk}",
        headers={"HX-Request": "true", "HX-Target": "tree"},
    )
    assert response.status_code == 200
    assert page.lstrip().startswith('<div id="tree"') and "<html" not in page
    assert set(shown(page)) == {planning.pipeline.pk, planning.sales_kr.pk}


def test_moving_is_not_offered_while_filtered(planning, world, client):
    client.force_login(world.admin)
    _, page = tree(client, planning.cycle)
    assert "Move “Sales outbound pipeline” up" in page
    _, page = tree(client, planning.cycle, "owner=sam")
    assert "Move “" not in page


def _cycle(world, name: str, count: int, end: date = date(2026, 3, 31)):
    """`count` KRs in two objectives: parents of three children in two departments, each
    child checked in for January. (Two cycles of one organization differ in their dates.)"""
    cycle = hs.cycle_create(
        org=world.org, name=name, start=date(2026, 1, 1), end=end, granularity="month"
    )
    objectives = [
        hs.objective_create(org=world.org, cycle=cycle, title=f"{name} goal {i}", owner=world.owner)
        for i in range(2)
    ]
    made = 0
    while made < count:
        objective = objectives[made % 2]
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
    archived = make_kr(world, objectives[0], title=f"{name} archived")
    hs.kr_archive(kr=archived, actor=world.admin)
    return cycle


QUERIES = [
    "",
    "department={marketing}",
    "owner=maya&status=off_track",
    "shared=1",
    "archived=1",
    "department={sales}&shared=1&archived=1",
]


@pytest.mark.parametrize("query", QUERIES)
def test_it_costs_the_same_queries_for_4_and_for_40_krs_whatever_the_filters(world, client, query):
    query = query.format(marketing=world.marketing.pk, sales=world.sales.pk)
    small = _cycle(world, "Small", 4)
    large = _cycle(world, "Large", 40, end=date(2026, 3, 30))
    client.force_login(world.admin)
    counts = []
    for cycle in (small, large):
        with CaptureQueriesContext(connection) as ctx:
            response, _ = tree(client, cycle, query)
        assert response.status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]
    # session, user, membership, cycle, objectives, KRs, check-ins, + the base template's 2
    assert counts[1] <= 9
