"""The search page (/o/<org>/search/?q=) and the top bar's search box."""

import re
from datetime import date
from decimal import Decimal

import pytest

from hierarchy import services as hs
from hierarchy.models import Department, Membership
from hierarchy.search import SEARCH_LIMIT, SEARCH_MAX_LENGTH
from tests.planning import make_kr

URL = "/o/acme/search/"


@pytest.fixture
def globex(world):
    """Globex has the same words as acme: a pipeline, a Marketing department, a maya."""
    org = world.other_org
    cycle = hs.cycle_create(
        org=org,
        name="Globex Q1",
        start=date(2026, 1, 1),
        end=date(2026, 3, 31),
        granularity="month",
    )
    objective = hs.objective_create(
        org=org, cycle=cycle, title="Grow the Globex pipeline", owner=world.outsider
    )
    kr = hs.kr_create(
        org=org,
        objective=objective,
        title="Globex marketing pipeline",
        owner=world.outsider,
        department=world.other_department,
        unit="USD",
        metric_kind="cumulative",
        target=Decimal(0),
    )
    return {"objective": objective, "kr": kr}


def _search(client, q, **params):
    return client.get(URL, {"q": q, **params})


def _section(html: str, key: str) -> str:
    found = re.search(
        rf'<section class="card search-kind" id="results-{key}".*?</section>', html, re.S
    )
    return found.group(0) if found else ""


def test_it_finds_key_results_objectives_people_and_departments_by_kind(planning, world, client):
    world.marketing_lead.first_name, world.marketing_lead.last_name = "Maya", "Lopez"
    world.marketing_lead.save()
    client.force_login(world.viewer)

    html = _search(client, "marketing").content.decode()
    krs, departments = _section(html, "krs"), _section(html, "departments")
    assert "Marketing pipeline" in krs and "Sales outbound pipeline" not in krs
    assert f'href="/o/acme/#department-{world.marketing.pk}">Marketing</a>' in departments
    assert "Lead: Maya Lopez" in departments
    assert _section(html, "people") == ""  # nobody is called marketing

    html = _search(client, "grow new").content.decode()  # every word, in any order
    objectives = _section(html, "objectives")
    cycle, objective = planning.cycle.pk, planning.objective.pk
    assert (
        f'href="/o/acme/cycles/{cycle}/#objective-{objective}">Grow new business</a>' in objectives
    )

    membership = Membership.objects.get(organization=world.org, user=world.marketing_lead)
    for q in ("lopez", "maya", "MAYA lo"):  # username, last name, both
        people = _section(_search(client, q).content.decode(), "people")
        assert f'href="/o/acme/#member-{membership.pk}">Maya Lopez</a>' in people, q
        assert "maya · member" in people


def test_it_links_a_key_result_to_its_combined_view_when_it_has_children(planning, world, client):
    client.force_login(world.member)
    krs = _section(_search(client, "PIPELINE").content.decode(), "krs")  # any case
    parent, child = planning.pipeline, planning.marketing_kr
    assert f'<a href="/o/acme/krs/{parent.pk}/alignment/">{parent.title}</a>' in krs
    assert f'<a href="/o/acme/krs/{child.pk}/plan/">{child.title}</a>' in krs
    assert "Combined view · Q1 2026 · Sales" in krs
    assert krs.count("<li>") == 4  # the parent and its three contributions


def test_the_people_and_departments_it_links_to_are_anchored_on_the_org_home(
    planning, world, client
):
    client.force_login(world.viewer)
    home = client.get("/o/acme/").content.decode()
    membership = Membership.objects.get(organization=world.org, user=world.marketing_lead)
    assert f'<tr id="member-{membership.pk}">' in home
    assert f'<tr id="department-{world.marketing.pk}">' in home


def test_it_finds_nothing_of_another_organization(planning, world, globex, client):
    client.force_login(world.admin)
    html = _search(client, "globex").content.decode()
    assert "Globex" not in html.split("<main", 1)[1]
    assert "Nothing in Acme matches “globex”" in html
    html = _search(client, "marketing").content.decode()
    assert f"#department-{world.other_department.pk}" not in html
    assert f"/krs/{globex['kr'].pk}/" not in html
    assert _section(_search(client, "outsider").content.decode(), "people") == ""
    # and globex's admin finds globex's, not acme's
    client.force_login(world.outsider)
    html = client.get("/o/globex/search/", {"q": "pipeline"}).content.decode()
    assert f'href="/o/globex/krs/{globex["kr"].pk}/plan/">Globex marketing pipeline</a>' in html
    assert "Sales outbound pipeline" not in html


def test_it_is_404_for_an_outsider(planning, world, client):
    client.force_login(world.outsider)
    assert _search(client, "pipeline").status_code == 404


@pytest.mark.parametrize("count", [2, 12])
def test_it_costs_the_same_queries_whatever_it_finds(
    planning, world, client, django_assert_num_queries, count
):
    for n in range(count):
        make_kr(world, planning.objective, title=f"Regional pipeline {n}", parent=planning.pipeline)
        hs.objective_create(
            org=world.org, cycle=planning.cycle, title=f"Pipeline health {n}", owner=world.owner
        )
        Department.objects.create(
            organization=world.org, name=f"Pipeline ops {n}", lead=world.owner
        )
    client.force_login(world.marketing_lead)
    # session, user, scope; the key results, objectives, people, departments; the badge
    with django_assert_num_queries(8):
        response = _search(client, "pipeline")
    html = response.content.decode()
    assert html.count("Regional pipeline") == count
    assert html.count("Pipeline health") == count and html.count("Pipeline ops") == count


def test_it_shows_a_bounded_number_of_each_kind(planning, world, client):
    for n in range(SEARCH_LIMIT + 5):
        make_kr(world, planning.objective, title=f"Regional pipeline {n:02}")
    client.force_login(world.viewer)
    krs = _section(_search(client, "regional").content.decode(), "krs")
    assert krs.count("<li>") == SEARCH_LIMIT
    assert f"({SEARCH_LIMIT}+)" in krs
    assert f"Only the first {SEARCH_LIMIT} are shown" in krs


def test_an_empty_query_asks_what_to_look_for_and_searches_nothing(
    planning, world, client, django_assert_num_queries
):
    client.force_login(world.viewer)
    for params in ({}, {"q": ""}, {"q": "   \t "}):
        with django_assert_num_queries(4):  # session, user, scope, badge: no search
            response = client.get(URL, params)
        assert response.status_code == 200
        html = response.content.decode()
        assert "Type a word or two of what you are looking for" in html
        assert 'href="/o/acme/cycles/">browse the cycles</a>' in html
        assert "search-kind" not in html and "Nothing in Acme matches" not in html


def test_nothing_found_says_what_was_searched_and_offers_the_cycles(planning, world, client):
    client.force_login(world.viewer)
    response = _search(client, "zeppelin")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Nothing in Acme matches “zeppelin”" in html
    assert 'href="/o/acme/cycles/">browse the cycles</a>' in html
    assert 'value="zeppelin"' in html  # the query stays in the box to change it


def test_it_refuses_a_query_too_long_with_the_message_next_to_the_field(planning, world, client):
    client.force_login(world.viewer)
    for q in ("p" * (SEARCH_MAX_LENGTH + 1), "pipeline " * 10_000):
        response = _search(client, q)
        assert response.status_code == 400
        html = response.content.decode()
        assert 'aria-invalid="true" aria-describedby="search-q-errors"' in html
        assert (
            f'<ul class="errorlist" id="search-q-errors"><li>Search for at most '
            f"{SEARCH_MAX_LENGTH} characters" in html
        )
        assert "search-kind" not in html
    assert _search(client, "p" * SEARCH_MAX_LENGTH).status_code == 200


@pytest.mark.parametrize(
    "q",
    [
        "%",
        "_",
        "\\",
        "100%",
        "'; DROP TABLE hierarchy_keyresult; --",
        "pipe\x00line",
        "pipe\nline",
        "\u202epipeline",
        "<script>alert(1)</script>",
        "🚀 pipeline",
        "Ünïcödé",
        " ".join(["pipeline"] * 20),
        " ".join(f"w{n}" for n in range(40)),  # words past SEARCH_MAX_TERMS are ignored
    ],
)
def test_it_answers_odd_input_without_an_error(planning, world, client, q):
    client.force_login(world.viewer)
    response = _search(client, q)
    assert response.status_code == 200, q
    html = response.content.decode()
    assert "<script>alert(1)</script>" not in html
    if q in ("%", "_", "\\", "100%"):  # LIKE's wildcards are searched as themselves
        assert "Nothing in Acme matches" in html


def test_every_organization_page_has_the_search_box_in_the_top_bar(planning, world, client):
    client.force_login(world.viewer)
    for url in ("/o/acme/", "/o/acme/me/", URL):
        html = client.get(url).content.decode()
        assert (
            '<form class="topbar-search" role="search" aria-label="Search Acme" method="get" '
            'action="/o/acme/search/">'
        ) in html, url
        assert '<label for="topbar-q" class="sr-only">' in html
        assert '<input id="topbar-q" type="search" name="q"' in html
    assert "topbar-search" not in client.get("/").content.decode()  # no organization there
