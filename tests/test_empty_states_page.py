"""Every empty state says what is missing and offers the action that fills it, to those
allowed to do it: a viewer (or a member, for an admin's action) reads the explanation
without the link."""

import pytest

from hierarchy.models import Membership, Organization, Role
from tests.conftest import make_member, make_user
from tests.planning import make_kr


@pytest.fixture
def initech(db):
    """A new organization: its admin, a member and a viewer, and nothing else yet."""
    org = Organization.objects.create(name="Initech", slug="initech")
    return {
        "org": org,
        "admin": make_member(org, "bill", Role.ADMIN),
        "member": make_member(org, "peter"),
        "viewer": make_member(org, "milton", Role.VIEWER),
    }


def _page(client, user, url) -> str:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def test_the_org_home_offers_departments_and_invitations_to_its_admin(initech, client):
    html = _page(client, initech["admin"], "/o/initech/")
    assert '<a href="/o/initech/admin/departments/#add-h">Create a department</a>' in html
    assert "No departments yet. Key results belong to departments" in html
    assert "No key result is shared by several departments yet" in html
    assert '<a href="/o/initech/cycles/">Open the cycles to add key results' in html

    html = _page(client, initech["viewer"], "/o/initech/")
    assert "No departments yet" in html and "An admin of Initech creates them." in html
    assert "/admin/departments/" not in html
    assert "No key result is shared by several departments yet" in html
    assert "Open the cycles to add key results" not in html  # a viewer adds nothing


def test_the_org_home_offers_invitations_while_the_admin_is_alone(db, client):
    org = Organization.objects.create(name="Solo", slug="solo")
    admin = make_member(org, "solo-admin", Role.ADMIN)
    html = _page(client, admin, "/o/solo/")
    assert "Nobody else is a member yet." in html
    assert '<a href="/o/solo/admin/members/#add-h">Invite people</a>' in html
    Membership.objects.create(organization=org, user=make_user("friend"), role=Role.MEMBER)
    assert "Nobody else is a member yet." not in _page(client, admin, "/o/solo/")


@pytest.mark.parametrize("url", ["/o/initech/calendar/", "/o/initech/reports/quarterly/"])
def test_the_calendar_and_the_review_offer_a_cycle_to_the_admin_only(initech, client, url):
    html = _page(client, initech["admin"], url)
    assert "No cycles" in html
    assert '<a href="/o/initech/admin/cycles/#create-h">Create a cycle</a>' in html
    for who in ("member", "viewer"):
        html = _page(client, initech[who], url)
        assert "No cycles" in html and "An admin of Initech creates them." in html
        assert "/admin/cycles/" not in html


def test_the_review_of_a_cycle_without_rounds_links_to_its_key_results(planning, world, client):
    html = _page(client, world.viewer, f"/o/acme/reports/quarterly/?cycle={planning.cycle.pk}")
    assert "No modification rounds in Q1 2026" in html
    assert (
        f'<a href="/o/acme/cycles/{planning.cycle.pk}/">See the key results of Q1 2026</a>' in html
    )


def test_the_inbox_explains_itself_and_leads_to_my_work(initech, client):
    html = _page(client, initech["viewer"], "/o/initech/notifications/")
    assert "No notifications yet. You are told here when" in html
    assert '<a href="/o/initech/me/">Open My work</a>' in html
    html = _page(client, initech["viewer"], "/o/initech/notifications/?unread=1")
    assert '<a href="/o/initech/notifications/">Show all notifications</a>' in html


def test_my_work_offers_the_cycles_to_a_writer_and_explains_itself_to_a_viewer(initech, client):
    html = _page(client, initech["member"], "/o/initech/me/")
    assert "You own no key result" in html
    assert '<a href="/o/initech/cycles/">Open the cycles to create one</a>' in html
    html = _page(client, initech["viewer"], "/o/initech/me/")
    assert "You own no key result" in html and "As a viewer you read" in html
    assert "Open the cycles to create one" not in html


def test_an_empty_history_offers_the_plan_to_who_may_edit_it(planning, world, client):
    kr = make_kr(world, planning.objective, title="Unplanned", department=world.marketing)
    url = f"/o/acme/krs/{kr.pk}/history/"
    html = _page(client, world.marketing_lead, url)  # the department's lead
    assert "Nothing recorded yet. The history starts with the first save" in html
    assert f'<a href="/o/acme/krs/{kr.pk}/plan/">Edit the plan</a>' in html
    for user in (world.viewer, world.member):
        html = _page(client, user, url)
        assert "Nothing recorded yet" in html and "Edit the plan</a>" not in html


def test_the_admin_lists_point_at_their_forms(initech, client):
    html = _page(client, initech["admin"], "/o/initech/admin/departments/")
    assert '<a href="#add-h">Create the first one below</a>' in html
    assert 'id="add-h"' in html
    html = _page(client, initech["admin"], "/o/initech/admin/cycles/")
    assert '<a href="#create-h">Create the first one above</a>' in html
    assert 'id="create-h"' in html
    html = _page(client, initech["admin"], "/o/initech/admin/members/")
    assert '<a href="#add-h">Invite someone with the form above</a>' in html


# --- Pages another part of the app provides: linked only once they exist ---------------


@pytest.fixture
def lonely(world, planning):
    """A KR without contributions, in Marketing, owned by the parent owner."""
    return make_kr(world, planning.objective, title="Lonely", department=world.marketing)


def test_the_combined_view_offers_contributions_to_who_may_shape_the_kr(world, lonely, client):
    url = f"/o/acme/krs/{lonely.pk}/alignment/"
    link = f'<a href="/o/acme/krs/{lonely.pk}/structure/">Add contributions</a>'
    for user in (world.owner, world.admin):  # structure_can_change
        html = _page(client, user, url)
        assert "No contributing key results yet" in html and link in html, user.username
    for user in (world.viewer, world.member, world.marketing_lead, world.sales_lead):
        html = _page(client, user, url)
        assert "No contributing key results yet" in html and link not in html, user.username
    html = _page(client, world.owner, f"/o/acme/krs/{lonely.pk}/agenda/")
    assert "No contributing departments yet" in html and "Add contributions" in html


def test_the_home_without_organizations_offers_to_create_one(db, client):
    html = _page(client, make_user("newbie"), "/")
    assert "You are not a member of any organization yet." in html
    assert '<a href="/orgs/new/">Create an organization</a>' in html


def test_the_combined_view_keeps_its_contributions_when_it_has_some(planning, world, client):
    html = _page(client, world.owner, f"/o/acme/krs/{planning.pipeline.pk}/alignment/")
    assert "No contributing key results yet" not in html
