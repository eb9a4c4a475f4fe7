"""Every page of an organization has the same navigation: Cycles in the organization's
nav line, the search box, and breadcrumbs starting at the organization's home.

The pages are walked from the URLconf like tests/test_permission_matrix_page.py (with its
table and objects): a page added later is checked without editing this file.
"""

import re

import pytest
from django.test import Client

from tests.test_permission_matrix_page import MATRIX, ROLES, ROUTES, _url

ADMIN = ROLES.index("admin")
ORG_PAGES = [
    (route, name)
    for route, name in ROUTES
    if route.startswith("o/<slug:org>/") and MATRIX[name]["get"][ADMIN] == 200
]
CYCLE_PAGES = ("cycles", "cycle-tree")


def _one(html: str, pattern: str) -> str:
    found = re.findall(pattern, html, re.S)
    assert len(found) == 1, f"{pattern}: {len(found)} found"
    return found[0]


def test_the_walk_finds_the_organizations_pages():
    names = {name for _, name in ORG_PAGES}
    assert {"org-home", "search", "cycles", "cycle-tree", "my-home", "admin-members"} <= names
    assert len(ORG_PAGES) >= 15


@pytest.mark.parametrize(("route", "name"), ORG_PAGES, ids=[r for r, _ in ORG_PAGES])
def test_every_organization_page_has_cycles_in_the_nav_and_breadcrumbs(objs, route, name):
    url = _url(route, name, objs)
    for user in (objs["world"].admin, objs["world"].viewer):
        if MATRIX[name]["get"][ROLES.index("viewer")] != 200 and user.username == "viewer":
            continue
        client = Client()
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200, url
        if not response["Content-Type"].startswith("text/html"):
            continue  # a download (the CSV and XLSX exports), not a page
        html = response.content.decode()

        nav = _one(html, r'<nav aria-label="Organization">(.*?)</nav>')
        cycles = _one(nav, r'(<a href="/o/acme/cycles/"[^>]*>)Cycles</a>')
        if name == "cycles":
            assert 'aria-current="page"' in cycles
        elif name in CYCLE_PAGES:
            assert 'aria-current="true"' in cycles
        else:
            assert "aria-current" not in cycles, url

        crumbs = _one(html, r'<nav class="crumbs" aria-label="Breadcrumb">(.*?)</nav>')
        assert crumbs.startswith('<a href="/o/acme/"'), f"{url}: the first crumb is the home"
        assert crumbs.count('aria-current="page"') == 1, f"{url}: one crumb is this page"
        if name != "org-home":
            assert re.search(r'<span aria-current="page">[^<]+</span>$', crumbs), url
        assert 'action="/o/acme/search/"' in html


def test_the_crumbs_go_from_the_home_down_to_the_page(objs, client):
    world, kr, pipeline = objs["world"], objs["kr"], objs["planning"].pipeline
    client.force_login(world.viewer)
    cycle = kr.cycle

    def crumbs(url):
        html = client.get(url).content.decode()
        inner = _one(html, r'<nav class="crumbs" aria-label="Breadcrumb">(.*?)</nav>')
        return re.sub(r'\s*<span aria-hidden="true">\u203a</span>\s*', " / ", inner)

    home = '<a href="/o/acme/">Acme</a>'
    tree = f'<a href="/o/acme/cycles/{cycle.pk}/">{cycle.name}</a>'
    assert crumbs("/o/acme/") == '<a href="/o/acme/" aria-current="page">Acme</a>'
    assert crumbs(f"/o/acme/cycles/{cycle.pk}/") == (
        f'{home} / <a href="/o/acme/cycles/">Cycles</a> / '
        f'<span aria-current="page">{cycle.name}</span>'
    )
    assert crumbs(f"/o/acme/krs/{kr.pk}/plan/") == (
        f'{home} / <a href="/o/acme/cycles/">Cycles</a> / {tree} / '
        f'<span aria-current="page">{kr.title}</span>'
    )
    assert crumbs(f"/o/acme/krs/{pipeline.pk}/agenda/") == (
        f'{home} / <a href="/o/acme/cycles/">Cycles</a> / {tree} / '
        f'<a href="/o/acme/krs/{pipeline.pk}/alignment/">{pipeline.title}</a> / '
        '<span aria-current="page">Agenda</span>'
    )
    # a KR without children: its history goes back to its plan
    assert f'<a href="/o/acme/krs/{kr.pk}/plan/">{kr.title}</a> / ' in crumbs(
        f"/o/acme/krs/{kr.pk}/history/"
    )
    assert crumbs(f"/o/acme/steps/{objs['path']['step_id']}/").startswith(
        f'{home} / <a href="/o/acme/me/">My work</a> / <span aria-current="page">'
    )


def test_pages_outside_an_organization_have_no_organization_nav(world, client):
    client.force_login(world.viewer)
    html = client.get("/").content.decode()
    assert 'aria-label="Organization"' not in html and 'class="crumbs"' not in html
