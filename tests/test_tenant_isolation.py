"""Walks every URL of an organization, in the API and in the browser, and proves
that nothing of another organization can be reached.

Routes are discovered from the URLconf, so a route added later is covered
without editing this file; a route whose path names an object this file does
not know yet fails loudly until `_objects` learns how to make one.
"""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from hierarchy import services as hs
from hierarchy.models import Membership
from notifications import webhooks
from notifications.models import Notification, Round, Step

ORG_PREFIXES = ("api/v1/orgs/<slug:org>/", "o/<slug:org>/")
METHODS = ["get", "post", "put", "patch", "delete"]


def _objects(org, owner, department) -> dict:
    """One of each planning object in an organization, for the path parameters."""
    cycle = hs.cycle_create(
        org=org, name="Q1", start=date(2026, 1, 1), end=date(2026, 3, 31), granularity="month"
    )
    objective = hs.objective_create(org=org, cycle=cycle, title="Grow", owner=owner)
    common = {
        "org": org,
        "objective": objective,
        "owner": owner,
        "department": department,
        "unit": "USD",
        "metric_kind": "cumulative",
        "target": Decimal(0),
    }
    parent = hs.kr_create(title="Parent", **common)
    child = hs.kr_create(title="Child", parent=parent, **common)
    dependency = hs.dependency_create(
        org=org, upstream=parent, downstream=child, assumption="x", actor=owner
    )
    step = Step.objects.create(
        organization=org,
        kind="cascade_review",
        kr=child,
        assignee=owner,
        due_at=timezone.now(),
        remind_at=timezone.now(),
    )
    round = Round.objects.create(
        organization=org, parent_kr=parent, modified_kr=child, number=1, started_at=timezone.now()
    )
    notification = Notification.objects.create(
        organization=org, user=owner, kind="step", key=f"test:{org.pk}", message="x"
    )
    return {
        "step_id": step.pk,
        "round_id": round.pk,
        "notification_id": notification.pk,
        "cycle_id": cycle.pk,
        "objective_id": objective.pk,
        "kr_id": child.pk,
        "dependency_id": dependency.pk,
        "member_id": Membership.objects.filter(organization=org, user=owner).get().pk,
        "department_id": department.pk,
        "invitation_id": hs.invitation_create(
            org=org, actor=owner, role="member", username=f"invited-to-{org.slug}"
        ).pk,
        "webhook_id": webhooks.webhook_create(
            org=org, actor=owner, url="https://hooks.example.test/x", events=["round.closed"]
        ).pk,
        "fmt": "csv",  # an export's format: not an object of the organization
    }


@pytest.fixture
def ids(world):
    """Path parameters: `foreign` (globex's, must answer 404) and `own` (acme's, the control)."""
    return {
        "foreign": _objects(world.other_org, world.outsider, world.other_department),
        "own": _objects(world.org, world.marketing_lead, world.marketing),
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
        assert name in ids, f"`_objects` does not make the path parameter {name!r} of {route}"
        return str(ids[name])

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", fill, route)


ROUTES = org_routes()
NOT_IDS = {"org", "fmt"}  # path parameters that name no object of the organization
ID_ROUTES = [(r, c) for r, c in ROUTES if set(re.findall(r"<(?:\w+:)?(\w+)>", r)) - NOT_IDS]


@pytest.mark.parametrize(("route", "callback"), ROUTES, ids=[r for r, _ in ROUTES])
def test_it_answers_404_to_a_member_of_another_organization(
    world, ids, api, client, route, callback
):
    url = _url(route, "acme", ids["own"])
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
    world, ids, api, client, route, callback
):
    """An admin of acme, in acme's URLs, with globex's ids: 404 as if missing.

    The control first: the same route with acme's own ids is found.
    """
    client.force_login(world.admin)
    own = _url(route, "acme", ids["own"])
    methods = _methods(callback)
    if not route.startswith("api/"):
        # a page may serve only some methods: those its own organization's admin is not
        # refused with 405 (the scope is resolved first, so 405 reveals nothing)
        methods = [m for m in methods if getattr(client, m)(own).status_code != 405]
        assert methods, f"control: {own} serves no method"
    elif "get" in methods:
        assert api(world.admin).get(own).status_code == 200, f"control: GET {own}"

    url = _url(route, "acme", ids["foreign"])
    for method in methods:
        if route.startswith("api/"):
            response = getattr(api(world.admin), method)(url, {}, format="json")
        else:
            response = getattr(client, method)(url)
        assert response.status_code == 404, f"{method.upper()} {url}: {response.status_code}"


@pytest.mark.parametrize(("route", "callback"), ROUTES, ids=[r for r, _ in ROUTES])
def test_it_wants_credentials(world, ids, api, client, route, callback):
    url = _url(route, "acme", ids["own"])
    for method in _methods(callback):
        if route.startswith("api/"):
            response = getattr(api(), method)(url, {}, format="json")
            assert response.status_code == 401, f"{method.upper()} {url}"
        else:
            response = getattr(client, method)(url)
            assert response.status_code == 302, f"{method.upper()} {url}"
            assert response["Location"].startswith("/accounts/login/")


# --- The invitee's routes: no organization in the path, the caller's own invitations ---

INVITEE_PREFIXES = ("api/v1/invitations/<", "invitations/<", "join/<")
INVITEE_ROUTES = [
    (route, callback)
    for route, callback in _walk(get_resolver().url_patterns)
    if route.startswith(INVITEE_PREFIXES)
]


def test_the_walk_finds_the_invitees_routes():
    assert len(INVITEE_ROUTES) >= 6, INVITEE_ROUTES


@pytest.mark.parametrize(("route", "callback"), INVITEE_ROUTES, ids=[r for r, _ in INVITEE_ROUTES])
def test_it_answers_404_for_someone_elses_invitation(world, api, client, route, callback):
    """Acme invites globex's admin: acme's own admin, a member of acme and a stranger all
    get 404 for it (as for a missing one) on every method the route serves."""
    invitation = hs.invitation_create(
        org=world.org, actor=world.admin, role="member", username="outsider"
    )
    url = _url(route, "acme", {"invitation_id": invitation.pk, "token": invitation.token})
    for caller in (world.admin, world.member):
        client.force_login(caller)
        for method in _methods(callback):
            if route.startswith("api/"):
                response = getattr(api(caller), method)(url, {}, format="json")
            else:
                response = getattr(client, method)(url)
            if response.status_code == 405:
                continue
            assert response.status_code == 404, f"{method.upper()} {url}: {response.status_code}"
    invitation.refresh_from_db()
    assert invitation.status == "pending"
    assert not Membership.objects.filter(user=world.outsider, organization=world.org).exists()
