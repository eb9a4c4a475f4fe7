"""Walks every URL of an organization, in the API and in the browser, and proves
that nothing of another organization can be reached.

Routes are discovered from the URLconf, so a route added later is covered
without editing this file; a route whose path names an object this file does
not know yet fails loudly until `FOREIGN_IDS` learns how to make one.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from hierarchy.models import Membership

ORG_PREFIXES = ("api/v1/orgs/<slug:org>/", "o/<slug:org>/")
METHODS = ["get", "post", "put", "patch", "delete"]

# How to find an object for each path parameter: in the foreign organization
# (what must answer 404), and in the caller's own (the control: not 404).
FOREIGN_IDS = {
    "member_id": lambda world: Membership.objects.get(user=world.outsider).pk,
    "department_id": lambda world: world.other_department.pk,
}
OWN_IDS = {
    "member_id": lambda world: Membership.objects.get(user=world.member).pk,
    "department_id": lambda world: world.marketing.pk,
}


def _walk(patterns, prefix=""):
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route, entry.callback


def org_routes():
    routes = [
        (route, callback)
        for route, callback in _walk(get_resolver().url_patterns)
        if route.startswith(ORG_PREFIXES)
    ]
    assert len(routes) >= 5, "the walk found too few routes: is the URLconf discovered?"
    return routes


def _methods(callback) -> list[str]:
    view_class = getattr(callback, "view_class", None)
    if view_class is None:
        return ["get", "post"]
    return [m for m in METHODS if hasattr(view_class, m)]


def _url(route: str, slug: str, ids: dict) -> str:
    def fill(match):
        name = match.group(2)
        if name == "org":
            return slug
        assert name in ids, f"FOREIGN_IDS does not know the path parameter {name!r} of {route}"
        return str(ids[name])

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", fill, route)


ROUTES = org_routes()
ID_ROUTES = [(r, c) for r, c in ROUTES if set(re.findall(r"<(?:\w+:)?(\w+)>", r)) - {"org"}]


@pytest.mark.parametrize(("route", "callback"), ROUTES, ids=[r for r, _ in ROUTES])
def test_it_answers_404_to_a_member_of_another_organization(world, api, client, route, callback):
    ids = {name: make(world) for name, make in FOREIGN_IDS.items()}
    url = _url(route, "acme", ids)
    caller = api(world.outsider)
    client.force_login(world.outsider)
    for method in _methods(callback):
        http = caller if route.startswith("api/") else client
        response = (
            getattr(http, method)(url, {}, format="json")
            if http is caller
            else (getattr(http, method)(url))
        )
        assert response.status_code == 404, f"{method.upper()} {url}: {response.status_code}"


@pytest.mark.parametrize(("route", "callback"), ID_ROUTES, ids=[r for r, _ in ID_ROUTES])
def test_it_answers_404_for_foreign_ids_under_the_callers_own_organization(
    world, api, client, route, callback
):
    """An admin of acme, in acme's URLs, with globex's ids: 404 as if missing.

    The control first: the same route with acme's own ids is found.
    """
    client.force_login(world.admin)
    own = _url(route, "acme", {name: make(world) for name, make in OWN_IDS.items()})
    if "get" in _methods(callback):
        http = api(world.admin) if route.startswith("api/") else client
        assert http.get(own).status_code == 200, f"control: GET {own}"

    url = _url(route, "acme", {name: make(world) for name, make in FOREIGN_IDS.items()})
    for method in _methods(callback):
        if route.startswith("api/"):
            response = getattr(api(world.admin), method)(url, {}, format="json")
        else:
            response = getattr(client, method)(url)
        assert response.status_code == 404, f"{method.upper()} {url}: {response.status_code}"


@pytest.mark.parametrize(("route", "callback"), ROUTES, ids=[r for r, _ in ROUTES])
def test_it_wants_credentials(world, api, client, route, callback):
    ids = {name: make(world) for name, make in FOREIGN_IDS.items()}
    url = _url(route, "acme", ids)
    for method in _methods(callback):
        if route.startswith("api/"):
            response = getattr(api(), method)(url, {}, format="json")
            assert response.status_code == 401, f"{method.upper()} {url}"
        else:
            response = getattr(client, method)(url)
            assert response.status_code == 302, f"{method.upper()} {url}"
            assert response["Location"].startswith("/accounts/login/")
