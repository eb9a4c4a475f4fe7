"""The alignment meeting agenda of a shared KR (/o/<org>/krs/<id>/agenda/): the seed
article's five time-boxed items, filled in from the KR's data; printable."""

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

from django.conf import settings

from hierarchy import services as hs
from notifications.models import Round
from tests.planning import lock, make_kr, set_plan

D = Decimal


def url(kr, org="acme") -> str:
    return f"/o/{org}/krs/{kr.pk}/agenda/"


def page(client, user, kr) -> str:
    client.force_login(user)
    response = client.get(url(kr))
    assert response.status_code == 200
    return response.content.decode()


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_it_lays_out_the_five_time_boxed_items(planning, world, client):
    html = page(client, world.viewer, planning.pipeline)
    heading = r'<h2 id="item-\d-h"><span class="timebox">(\d+) min</span> ([^<]+)</h2>'
    items = re.findall(heading, html)
    assert items == [
        ("5", "Review the shared target and the parent plan"),
        ("6", "Each department presents its contributing plan"),  # 2 min × 3 departments
        ("10", "Validate the cross-functional assumptions"),
        ("5", "Identify and resolve misalignments"),
        ("2", "Agree on the modification protocol"),
    ]
    assert "Cross-functional alignment meeting · 28 minutes" in html
    assert '<time datetime="2026-01-11">Sunday 11 January 2026</time>' in html  # day 11


def test_it_names_the_attendees_and_each_departments_numbers(planning, world, client):
    hs.dependency_create(
        org=world.org,
        upstream=planning.marketing_kr,
        downstream=planning.sales_kr,
        assumption="Our $1.5M outbound plan is independent of the Marketing MQL plan.",
        actor=world.sales_lead,
    )
    words = text(page(client, world.member, planning.pipeline))
    assert "Attendees owner, maya (Marketing), sam (Sales), pat (Partnerships)" in words
    assert (
        "Marketing pipeline (maya): target 3,000,000 USD · even (centroid 0.5) · plan draft"
        in words
    )
    assert "Partner-sourced pipeline (pat): target 500,000 USD · back-loaded" in words
    assert "100,000 200,000 200,000" in words
    assert words.count("“Our $1.5M outbound plan is independent of the Marketing MQL plan.”") == 2
    assert "Do the contributions sum to the target?" in words
    assert "Target 5,000,000 USD" in words and "Total 5,000,000 USD" in words


def test_it_lists_the_checks_and_open_rounds_to_discuss(planning, world, client):
    lock(planning.pipeline)
    set_plan(planning.marketing_kr, [800000, 800000, 800000], rationale="Channel algorithm change")
    round = Round.objects.get(parent_kr=planning.pipeline)
    html = page(client, world.owner, planning.pipeline)
    assert '<strong class="check-label">Gap against the target</strong>' in html
    words = text(html)
    assert "4,400,000 USD against a target of 5,000,000 USD: 600,000 short (12.00%)" in words
    assert f"{round.label}: Marketing modified “Marketing pipeline”" in words
    assert "Send the impact notice — owner, due" in words
    assert "the plans are locked" in words
    assert "the parent owner is notified when the aggregate moves 10% from its baseline" in words
    assert "impact notice within 24 h, assessments within 48 h of the notice" in words


def test_it_checks_a_funnel_and_parallel_claims(funnel, nps, world, client):
    words = text(page(client, world.owner, funnel.parent))
    assert "Are the funnel ratios consistent" in words and "stage 2 · ratio 0.2" in words
    words = text(page(client, world.owner, nps.parent))
    assert "Is the combined impact plausible" in words
    assert "Claims counted twice</strong>" in page(client, world.owner, nps.parent)
    assert "claims 8 points" in words


def test_it_is_printable_and_shows_no_forms(planning, world, client):
    html = page(client, world.owner, planning.pipeline)
    assert '<button type="button" class="print-button no-print" data-print>' in html
    assert "/static/js/print.js" in html  # no inline handler: the CSP allows 'self' scripts
    assert '<form method="post" action="/o/acme/krs/' not in html
    css = (Path(settings.BASE_DIR) / "static" / "css" / "app.css").read_text()
    print_rules = css[css.index("/* --- Parent owner's actions") :]
    assert re.search(r"@media print \{\s*\.no-print, \.print-button, \.actions", print_rules)


def test_it_is_linked_from_the_combined_view_and_the_cycle_tree(planning, world, client):
    client.force_login(world.member)
    html = client.get(f"/o/acme/krs/{planning.pipeline.pk}/alignment/").content.decode()
    assert f'href="{url(planning.pipeline)}"' in html
    html = client.get(f"/o/acme/cycles/{planning.cycle.pk}/").content.decode()
    assert f'href="{url(planning.pipeline)}"' in html
    assert f'href="{url(planning.marketing_kr)}"' not in html  # not shared: no agenda link


def test_it_is_404_for_an_outsider_and_a_foreign_id(planning, world, client):
    client.force_login(world.outsider)
    assert client.get(url(planning.pipeline)).status_code == 404
    assert client.get(url(planning.pipeline, org="globex")).status_code == 404
    client.force_login(world.owner)
    assert client.get("/o/acme/krs/999999/agenda/").status_code == 404


AGENDA_QUERIES = 13  # the unread badge reuses the view's scope


def test_it_costs_the_same_queries_for_3_and_30_children(
    planning, world, client, django_assert_num_queries
):
    lock(planning.pipeline)
    set_plan(planning.marketing_kr, [800000, 800000, 800000], rationale="Channel algorithm change")
    client.force_login(world.owner)
    client.get(url(planning.pipeline))  # warm the session
    with django_assert_num_queries(AGENDA_QUERIES):
        assert client.get(url(planning.pipeline)).status_code == 200
    for i in range(27):
        department = hs.department_create(org=world.org, name=f"Region {i}", lead=world.member)
        child = make_kr(
            world,
            planning.objective,
            title=f"Region {i} pipeline",
            parent=planning.pipeline,
            department=department,
            owner=world.member,
        )
        set_plan(child, [1000, 1000, 1000], rationale="A region joins")  # locked with it
        hs.dependency_create(
            org=world.org,
            upstream=planning.marketing_kr,
            downstream=child,
            assumption=f"Assumption {i}",
            expected_value=D(10),
            expected_by=date(2026, 2, 1),
            actor=world.member,  # the downstream's owner
        )
    with django_assert_num_queries(AGENDA_QUERIES):
        html = client.get(url(planning.pipeline)).content.decode()
    assert "Assumption 26" in html and "Region 26 pipeline" in html


def test_it_names_each_check_in_words_not_its_code(nps, world, client):
    """Issue 16 §5: the agenda showed `double_counted_impact`; people read "Claims counted
    twice" (the code stays the API's)."""
    html = page(client, world.member, nps.parent)
    words = text(html)
    assert "double_counted_impact" not in html and "impact_shortfall" not in html
    assert "Claims counted twice" in words and "Claims fall short" in words
