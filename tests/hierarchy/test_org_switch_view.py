"""The organization switcher in the top bar (issue 14 item 2): the caller's
organizations, a <details> menu (no script), read at login into the session so that no
page pays a query for it (hierarchy/switcher.py)."""

import re

from hierarchy import services as hs
from hierarchy.models import Membership, Organization, Role
from hierarchy.switcher import SESSION_KEY
from tests.conftest import make_user


def menu(page: str) -> str:
    match = re.search(r'<details class="org-switch">.*?</details>', page, re.S)
    assert match, "no switcher"
    return match.group(0)


def links(page: str) -> list[str]:
    return re.findall(r'<a href="(/o/[^"]+/)"', menu(page))


def test_it_lists_the_callers_organizations_and_marks_the_one_open(world, client):
    Membership.objects.create(organization=world.other_org, user=world.member)
    client.force_login(world.member)
    page = client.get("/o/acme/").content.decode()
    assert links(page) == ["/o/acme/", "/o/globex/"]
    assert '<a href="/o/acme/" aria-current="true">Acme</a>' in menu(page)
    assert 'href="/orgs/new/">New organization' in menu(page)
    assert "<script" not in menu(page)
    # it sits beside the brand, before the organization's navigation line
    assert (
        page.index('class="brand"')
        < page.index("org-switch")
        < page.index('aria-label="Organization"')
    )


def test_it_shows_nothing_of_another_persons_organizations(world, client):
    client.force_login(world.viewer)
    assert links(client.get("/").content.decode()) == ["/o/acme/"]
    client.force_login(world.outsider)
    assert links(client.get("/").content.decode()) == ["/o/globex/"]


def test_anonymous_pages_have_no_switcher(db, client):
    assert "org-switch" not in client.get("/accounts/login/").content.decode()


def test_it_costs_no_query_on_a_page(world, client, django_assert_num_queries):
    """The same budget as before the switcher: the list comes with the session."""
    client.force_login(world.viewer)
    with django_assert_num_queries(7):  # tests/hierarchy/test_org_home_view.py's
        page = client.get("/o/acme/").content.decode()
    assert links(page) == ["/o/acme/"]


def test_a_new_organization_is_listed_at_once(world, client):
    client.force_login(world.member)
    client.post("/orgs/new/", {"name": "Initech", "slug": "initech"})
    assert links(client.get("/o/initech/setup/").content.decode()) == ["/o/acme/", "/o/initech/"]


def test_an_accepted_invitation_is_listed_at_once(world, client):
    invitation = hs.invitation_create(
        org=world.other_org, actor=world.outsider, role="member", username="member"
    )
    client.force_login(world.member)
    client.post(f"/invitations/{invitation.pk}/accept/")
    assert links(client.get("/o/acme/").content.decode()) == ["/o/acme/", "/o/globex/"]


def test_an_organization_joined_elsewhere_is_listed_on_its_pages_and_on_the_home(world, client):
    client.force_login(world.member)
    Membership.objects.create(organization=world.other_org, user=world.member)  # e.g. the API
    assert links(client.get("/o/globex/").content.decode()) == ["/o/acme/", "/o/globex/"]
    Membership.objects.filter(organization=world.other_org, user=world.member).delete()
    assert links(client.get("/").content.decode()) == ["/o/acme/"]  # the home reads them


def test_leaving_an_organization_takes_it_off_the_list(world, client):
    Membership.objects.create(organization=world.other_org, user=world.admin, role=Role.ADMIN)
    client.force_login(world.admin)
    me = Membership.objects.get(organization=world.other_org, user=world.admin)
    client.post(f"/o/globex/admin/members/{me.pk}/remove/")
    assert not Membership.objects.filter(pk=me.pk).exists()
    assert client.session[SESSION_KEY] == [["acme", "Acme"]]


def test_many_organizations_end_with_a_link_to_all_of_them(db, client):
    user = make_user("busy")
    for i in range(25):
        org = Organization.objects.create(name=f"Org {i:02d}", slug=f"org-{i:02d}")
        Membership.objects.create(organization=org, user=user)
    client.force_login(user)
    page = client.get("/").content.decode()
    assert len(links(page)) == 20
    assert 'href="/">All your organizations…' in menu(page)
