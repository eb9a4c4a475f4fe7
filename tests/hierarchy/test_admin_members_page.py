"""The admin page of the members: /o/<org>/admin/members/ (list, add, role, remove)."""

import re

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from hierarchy.models import Department, Membership, Role
from tests.conftest import make_member, make_user

URL = "/o/acme/admin/members/"


def role_url(membership) -> str:
    return f"{URL}{membership.pk}/role/"


def remove_url(membership) -> str:
    return f"{URL}{membership.pk}/remove/"


def row(page: str, membership) -> str:
    match = re.search(rf'<tr id="member-{membership.pk}".*?</tr>', page, re.S)
    assert match, f"no row for {membership}"
    return match.group(0)


def test_it_lists_the_members_with_roles_and_the_departments_they_lead(world, client):
    client.force_login(world.admin)
    response = client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Members</h1>" in page
    maya = Membership.objects.get(user=world.marketing_lead)
    assert "Marketing" in row(page, maya)
    viewer = Membership.objects.get(user=world.viewer)
    assert '<option value="viewer" selected>' in row(page, viewer)
    assert "outsider" not in page
    assert page.count('<tr id="member-') == 6
    assert '<label for="add-username">Username</label>' in page


def test_it_links_the_admin_pages_in_the_top_nav_for_admins_only(world, client):
    client.force_login(world.admin)
    page = client.get("/o/acme/").content.decode()
    assert 'href="/o/acme/admin/members/"' in page
    client.force_login(world.member)
    page = client.get("/o/acme/").content.decode()
    assert 'href="/o/acme/admin/members/"' not in page
    assert 'href="/o/acme/calendar/"' in page and 'href="/o/acme/reports/quarterly/"' in page


def test_it_adds_an_existing_user(world, client):
    make_user("newbie")
    client.force_login(world.admin)
    response = client.post(URL, {"username": "newbie", "role": "viewer"})
    assert response.status_code == 302 and response["Location"] == URL
    membership = Membership.objects.get(organization=world.org, user__username="newbie")
    assert membership.role == Role.VIEWER
    page = client.get(URL).content.decode()
    assert "newbie is now a member of Acme (viewer)." in page


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"username": "ghost", "role": "member"}, "username", "No user is named"),
        ({"username": "maya", "role": "member"}, "username", "already a member"),
        ({"username": "newbie", "role": "owner"}, "role", "is not a valid choice"),
        ({"role": "member"}, "username", "This field is required."),
        ({"username": "", "role": "member"}, "username", "may not be blank"),
        ({"username": "newbie"}, "role", "This field is required."),
    ],
)
def test_it_refuses_what_the_api_refuses_and_names_the_field(world, client, body, field, message):
    make_user("newbie")
    before = Membership.objects.count()
    client.force_login(world.admin)
    response = client.post(URL, body)
    assert response.status_code == 400
    page = response.content.decode()
    errors = re.search(rf'<ul class="errorlist" id="add-{field}-errors">(.*?)</ul>', page, re.S)
    assert errors and message in errors.group(1)
    assert f'id="add-{field}"' in page and 'aria-invalid="true"' in page
    assert Membership.objects.count() == before


def test_it_changes_a_role_and_redirects_without_js(world, client):
    membership = Membership.objects.get(user=world.member)
    client.force_login(world.admin)
    response = client.post(role_url(membership), {"role": "viewer"})
    assert response.status_code == 302 and response["Location"] == URL
    membership.refresh_from_db()
    assert membership.role == Role.VIEWER
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["member is now viewer."]


def test_it_changes_a_role_inline_for_htmx(world, client):
    membership = Membership.objects.get(user=world.member)
    client.force_login(world.admin)
    response = client.post(role_url(membership), {"role": "admin"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html and html.strip().startswith(f'<tr id="member-{membership.pk}"')
    assert '<option value="admin" selected>' in html and "Saved." in html
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN


def test_it_keeps_the_last_admin(world, client):
    membership = Membership.objects.get(user=world.admin)
    client.force_login(world.admin)
    response = client.post(role_url(membership), {"role": "member"})
    assert response.status_code == 400
    assert "An organization needs at least one admin." in row(response.content.decode(), membership)
    response = client.post(role_url(membership), {"role": "member"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200  # htmx swaps the row with its error
    html = response.content.decode()
    assert "An organization needs at least one admin." in html
    assert '<option value="admin" selected>' in html
    response = client.post(remove_url(membership))
    assert response.status_code == 400
    assert "An organization needs at least one admin." in response.content.decode()
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN


def test_it_refuses_a_bad_role(world, client):
    membership = Membership.objects.get(user=world.member)
    client.force_login(world.admin)
    response = client.post(role_url(membership), {"role": "owner"})
    assert response.status_code == 400
    assert "is not a valid choice" in row(response.content.decode(), membership)
    membership.refresh_from_db()
    assert membership.role == Role.MEMBER


def test_it_does_not_remove_a_department_lead(world, client):
    membership = Membership.objects.get(user=world.marketing_lead)
    client.force_login(world.admin)
    response = client.post(remove_url(membership))
    assert response.status_code == 400
    assert "maya leads Marketing: name a new lead." in row(response.content.decode(), membership)
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_it_removes_a_member(world, client):
    membership = Membership.objects.get(user=world.member)
    client.force_login(world.admin)
    response = client.post(remove_url(membership))
    assert response.status_code == 302 and response["Location"] == URL
    assert not Membership.objects.filter(pk=membership.pk).exists()
    response = client.post(
        remove_url(Membership.objects.get(user=world.viewer)), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and response["HX-Redirect"] == URL
    assert not Membership.objects.filter(user=world.viewer, organization=world.org).exists()


def test_an_admin_who_steps_down_goes_to_the_org_home(world, client):
    make_member(world.org, "second-admin", Role.ADMIN)
    membership = Membership.objects.get(user=world.admin)
    client.force_login(world.admin)
    response = client.post(role_url(membership), {"role": "member"})
    assert response.status_code == 302 and response["Location"] == "/o/acme/"
    membership.refresh_from_db()
    assert membership.role == Role.MEMBER
    assert client.get(URL).status_code == 403


@pytest.mark.parametrize("who", ["member", "viewer", "owner", "marketing_lead"])
def test_it_forbids_everyone_but_admins(world, client, who):
    make_user("newbie")
    target = Membership.objects.get(user=world.member)
    client.force_login(getattr(world, who))
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"username": "newbie", "role": "admin"}).status_code == 403
    assert client.post(role_url(target), {"role": "admin"}).status_code == 403
    assert client.post(remove_url(target)).status_code == 403
    assert not Membership.objects.filter(user__username="newbie").exists()
    target.refresh_from_db()
    assert target.role == Role.MEMBER


def test_it_answers_404_to_an_outsider_and_for_a_foreign_member(world, client):
    client.force_login(world.outsider)
    assert client.get(URL).status_code == 404
    assert client.post(URL, {"username": "outsider", "role": "admin"}).status_code == 404
    target = Membership.objects.get(user=world.member)
    assert client.post(role_url(target), {"role": "admin"}).status_code == 404
    assert client.post(remove_url(target)).status_code == 404
    foreign = Membership.objects.get(user=world.outsider)
    client.force_login(world.admin)
    assert client.post(role_url(foreign), {"role": "viewer"}).status_code == 404
    assert client.post(remove_url(foreign)).status_code == 404
    foreign.refresh_from_db()
    assert foreign.role == Role.ADMIN


def test_it_refuses_posts_without_a_csrf_token(world):
    make_user("newbie")
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.admin)
    target = Membership.objects.get(user=world.member)
    assert client.post(URL, {"username": "newbie", "role": "member"}).status_code == 403
    assert client.post(role_url(target), {"role": "viewer"}).status_code == 403
    assert client.post(remove_url(target)).status_code == 403
    assert not Membership.objects.filter(user__username="newbie").exists()
    target.refresh_from_db()
    assert target.role == Role.MEMBER


def test_it_costs_the_same_queries_for_few_and_many_members(
    world, client, django_assert_num_queries
):
    client.force_login(world.admin)
    # session, user, scope, departments, members, + the base template's 2
    with django_assert_num_queries(6):
        assert client.get(URL).status_code == 200
    for i in range(30):
        user = make_member(world.org, f"extra{i:02d}")
        if i % 3 == 0:
            Department.objects.create(organization=world.org, name=f"Team {i}", lead=user)
    with django_assert_num_queries(6):
        page = client.get(URL).content.decode()
    assert page.count('<tr id="member-') == 36
