"""The admin page of the members: /o/<org>/admin/members/ (list, add, role, remove)."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone

from hierarchy import services
from hierarchy.models import Department, Invitation, Membership, Role
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
    assert '<label for="add-who">Username or e-mail address</label>' in page


def test_it_links_the_admin_pages_in_the_top_nav_for_admins_only(world, client):
    client.force_login(world.admin)
    page = client.get("/o/acme/").content.decode()
    assert 'href="/o/acme/admin/members/"' in page
    client.force_login(world.member)
    page = client.get("/o/acme/").content.decode()
    assert 'href="/o/acme/admin/members/"' not in page
    assert 'href="/o/acme/calendar/"' in page and 'href="/o/acme/reports/quarterly/"' in page


def test_adding_someone_invites_them_and_they_are_not_a_member_yet(world, client):
    make_user("newbie")
    client.force_login(world.admin)
    response = client.post(URL, {"who": "newbie", "role": "viewer"})
    assert response.status_code == 302 and response["Location"] == URL
    assert not Membership.objects.filter(user__username="newbie").exists()
    invitation = Invitation.objects.get(organization=world.org)
    assert (invitation.username, invitation.role, invitation.status) == (
        "newbie",
        "viewer",
        "pending",
    )
    page = client.get(URL).content.decode()
    assert "Invited newbie as viewer: they become a member when they accept." in page
    assert re.search(rf'<tr id="invitation-{invitation.pk}">.*?Pending', page, re.S)
    assert "newbie@example.test" not in page


def test_it_invites_by_email_and_answers_the_same_for_unknown_names(world, client):
    client.force_login(world.admin)
    assert client.post(URL, {"who": "nora@example.test", "role": "member"}).status_code == 302
    assert client.post(URL, {"who": "nobody-at-all", "role": "member"}).status_code == 302
    assert Invitation.objects.filter(email="nora@example.test").exists()
    assert Invitation.objects.filter(username="nobody-at-all").exists()


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"who": "maya", "role": "member"}, "who", "maya is already a member."),
        ({"who": "maya@example.test", "role": "member"}, "who", "already a member"),
        ({"who": "not an@address", "role": "member"}, "who", "Enter a valid e-mail address."),
        ({"who": "ni na", "role": "member"}, "who", "A username has letters, digits"),
        ({"who": "newbie", "role": "owner"}, "role", "Choose a role."),
        ({"role": "member"}, "who", "Give the person&#x27;s username or e-mail address."),
        ({"who": "", "role": "member"}, "who", "Give the person&#x27;s username or e-mail"),
        ({"who": "newbie"}, "role", "Choose a role."),
    ],
)
def test_it_refuses_bad_input_and_names_the_field(world, client, body, field, message):
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
    assert not Invitation.objects.exists()


def test_it_lists_every_state_and_withdraws_a_pending_invitation(world, client):
    alice, bob = make_user("alice"), make_user("bob")
    pending = services.invitation_create(
        org=world.org, actor=world.admin, role="member", username="alice"
    )
    declined = services.invitation_create(
        org=world.org, actor=world.admin, role="member", username="bob"
    )
    services.invitation_answer(invitation=declined, user=bob, accept=False)
    with time_machine.travel(timezone.now() - timedelta(days=30)):
        services.invitation_create(
            org=world.org, actor=world.admin, role="member", email="old@example.test"
        )
    client.force_login(world.admin)
    page = client.get(URL).content.decode()
    states = dict(
        re.findall(
            r'<tr id="invitation-\d+">\s*<th scope="row">([^<]+)</th>.*?'
            r'class="invitation-state[^"]*">(\w+)<',
            page,
            re.S,
        )
    )
    assert states == {"alice": "Pending", "bob": "Declined", "old@example.test": "Expired"}
    assert page.count("Withdraw<span") == 1  # only the pending one

    withdraw = f"/o/acme/admin/invitations/{pending.pk}/withdraw/"
    response = client.post(withdraw)
    assert response.status_code == 302 and response["Location"] == URL
    pending.refresh_from_db()
    assert pending.status == "withdrawn"
    page = client.get(URL).content.decode()
    assert "The invitation of alice is withdrawn." in page
    assert f'id="invitation-{pending.pk}"' not in page
    assert client.post(withdraw).status_code == 404
    again = client.post(f"/o/acme/admin/invitations/{declined.pk}/withdraw/", follow=True)
    assert "Only a pending invitation can be withdrawn; this one is declined." in (
        again.content.decode()
    )
    assert not Membership.objects.filter(user=alice).exists()


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
    assert "is not one of the choices: admin, member, viewer." in row(
        response.content.decode(), membership
    )
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
    assert client.post(URL, {"who": "newbie", "role": "admin"}).status_code == 403
    assert client.post(role_url(target), {"role": "admin"}).status_code == 403
    assert client.post(remove_url(target)).status_code == 403
    assert not Membership.objects.filter(user__username="newbie").exists()
    assert not Invitation.objects.exists()
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
    assert client.post(URL, {"who": "newbie", "role": "member"}).status_code == 403
    assert client.post(role_url(target), {"role": "viewer"}).status_code == 403
    assert client.post(remove_url(target)).status_code == 403
    assert not Membership.objects.filter(user__username="newbie").exists()
    target.refresh_from_db()
    assert target.role == Role.MEMBER


def test_it_costs_the_same_queries_for_few_and_many_members(
    world, client, django_assert_num_queries
):
    client.force_login(world.admin)
    # session, user, scope, departments, members, invitations, + the base template's 2
    with django_assert_num_queries(7):
        assert client.get(URL).status_code == 200
    for i in range(30):
        user = make_member(world.org, f"extra{i:02d}")
        if i % 3 == 0:
            Department.objects.create(organization=world.org, name=f"Team {i}", lead=user)
    with django_assert_num_queries(7):
        page = client.get(URL).content.decode()
    assert page.count('<tr id="member-') == 36
