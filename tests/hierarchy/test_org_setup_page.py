"""The admin's first-run setup guide: /o/<org>/setup/ (issue 14 item 2). Each step is
done or not from the data; each links to the admin page that does it, whose form brings
the admin back to the guide; the organization's home shows the progress to admins until
the setup is complete."""

import re
from datetime import date

import pytest

from hierarchy import services as hs
from hierarchy.models import Department, Invitation, Membership, Organization
from tests.conftest import make_user

GUIDE = "/o/initech/setup/"


@pytest.fixture
def founder(db, client):
    """A new organization, Initech, whose only member is its admin (logged in)."""
    user = make_user("founder")
    org = hs.organization_create(name="Initech", slug="initech", actor=user)
    client.force_login(user)
    return org, user


def step(page: str, key: str) -> str:
    match = re.search(rf'<li class="card setup-step[^"]*" id="step-{key}".*?</li>', page, re.S)
    assert match, f"no step {key}"
    return match.group(0)


def test_a_new_organization_has_nothing_done(founder, client):
    page = client.get(GUIDE).content.decode()
    assert "0 of 3 done" in page
    assert '<progress max="3" value="0"' in page
    for key, href in (
        ("departments", "/o/initech/admin/departments/?next=setup#add-h"),
        ("cycle", "/o/initech/admin/cycles/?next=setup#create-h"),
        ("invitations", "/o/initech/admin/members/?next=setup#add-h"),
    ):
        block = step(page, key)
        assert "Not done yet" in block and f'href="{href}"' in block
    assert '<nav class="crumbs" aria-label="Breadcrumb">' in page


def test_each_step_is_done_from_the_data(founder, client):
    org, user = founder
    hs.department_create(org=org, name="Sales", lead=user)
    page = client.get(GUIDE).content.decode()
    assert "1 of 3 done" in page
    assert "Done" in step(page, "departments") and "Add another department" in page
    hs.cycle_create(
        org=org, name="Q1", start=date(2026, 1, 1), end=date(2026, 3, 31), granularity="month"
    )
    assert "2 of 3 done" in client.get(GUIDE).content.decode()
    hs.invitation_create(org=org, actor=user, role="member", email="lead@example.test")
    page = client.get(GUIDE).content.decode()
    assert "3 of 3 done" in page and "Initech is ready to plan." in page
    assert 'href="/o/initech/cycles/"' in page


def test_a_withdrawn_invitation_is_not_the_step_done_but_a_second_member_is(founder, client):
    org, user = founder
    invitation = hs.invitation_create(org=org, actor=user, role="member", username="nobody")
    hs.invitation_withdraw(invitation=invitation)
    assert "Not done yet" in step(client.get(GUIDE).content.decode(), "invitations")
    friend = make_user("friend")
    mine = hs.invitation_create(org=org, actor=user, role="member", username="friend")
    hs.invitation_withdraw(invitation=mine)
    Membership.objects.create(organization=org, user=friend)  # e.g. imported
    assert "Done" in step(client.get(GUIDE).content.decode(), "invitations")


def test_an_archived_department_does_not_count(founder, client):
    org, user = founder
    sales = hs.department_create(org=org, name="Sales", lead=user)
    hs.department_archive(department=sales)
    assert "0 of 3 done" in client.get(GUIDE).content.decode()


def test_it_costs_one_query_of_its_own(founder, client, django_assert_num_queries):
    # session, user, scope, the progress, + the base template's unread count
    with django_assert_num_queries(5):
        assert client.get(GUIDE).status_code == 200


def test_the_forms_of_the_steps_bring_the_admin_back_to_the_guide(founder, client):
    org, _ = founder
    page = client.get("/o/initech/admin/departments/?next=setup").content.decode()
    assert '<input type="hidden" name="next" value="setup">' in page
    assert 'href="/o/initech/setup/">← Back to the setup guide' in page
    response = client.post(
        "/o/initech/admin/departments/", {"name": "Sales", "lead": "founder", "next": "setup"}
    )
    assert (response.status_code, response["Location"]) == (302, GUIDE)
    response = client.post(
        "/o/initech/admin/cycles/",
        {
            "name": "Q1 2026",
            "start": "2026-01-01",
            "end": "2026-03-31",
            "granularity": "month",
            "next": "setup",
        },
    )
    assert (response.status_code, response["Location"]) == (302, GUIDE)
    response = client.post(
        "/o/initech/admin/members/",
        {"who": "lead@example.test", "role": "member", "next": "setup"},
    )
    assert (response.status_code, response["Location"]) == (302, GUIDE)
    assert Invitation.objects.get(organization=org).email == "lead@example.test"
    page = client.get(GUIDE).content.decode()
    assert "3 of 3 done" in page
    assert "Invited lead@example.test as member" in page  # the step's own message


def test_a_refused_form_stays_on_its_page_with_the_way_back(founder, client):
    response = client.post(
        "/o/initech/admin/departments/", {"name": "", "lead": "founder", "next": "setup"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert '<input type="hidden" name="next" value="setup">' in page
    assert "← Back to the setup guide" in page
    assert not Department.objects.filter(organization__slug="initech").exists()


def test_next_takes_no_address(founder, client):
    response = client.post(
        "/o/initech/admin/departments/",
        {"name": "Sales", "lead": "founder", "next": "https://evil.example/"},
    )
    assert response["Location"] == "/o/initech/admin/departments/"


def test_the_home_shows_the_progress_to_admins_until_the_setup_is_complete(founder, client):
    org, user = founder
    page = client.get("/o/initech/").content.decode()
    assert "Set up Initech: 0 of 3 done" in page and f'href="{GUIDE}"' in page
    member = make_user("member")
    hs.invitation_answer(
        invitation=hs.invitation_create(org=org, actor=user, role="member", username="member"),
        user=member,
        accept=True,
    )
    hs.department_create(org=org, name="Sales", lead=user)
    assert "Set up Initech: 2 of 3 done" in client.get("/o/initech/").content.decode()
    client.force_login(member)
    assert "Set up Initech" not in client.get("/o/initech/").content.decode()
    assert client.get(GUIDE).status_code == 403
    client.force_login(user)
    hs.cycle_create(
        org=org, name="Q1", start=date(2026, 1, 1), end=date(2026, 3, 31), granularity="month"
    )
    assert "Set up Initech" not in client.get("/o/initech/").content.decode()
    assert client.get(GUIDE).status_code == 200  # still there, complete


@pytest.mark.parametrize("who", ["member", "viewer", "owner", "marketing_lead"])
def test_it_forbids_everyone_but_admins(world, client, who):
    client.force_login(getattr(world, who))
    assert client.get("/o/acme/setup/").status_code == 403


def test_it_answers_404_to_an_outsider_and_for_a_missing_organization(world, client):
    client.force_login(world.outsider)
    assert client.get("/o/acme/setup/").status_code == 404
    assert client.get("/o/nowhere/setup/").status_code == 404
    assert Organization.objects.filter(slug="globex").exists()


def test_the_guide_and_the_cycle_edit_page_carry_one_breadcrumb_trail(founder, client):
    """The base's trail, extended: the pages drew a second one of their own below it
    (two "Breadcrumb" navigations, the first saying only the organization's name)."""
    org, _ = founder
    cycle = hs.cycle_create(
        org=org, name="Q1 2026", start=date(2026, 1, 1), end=date(2026, 3, 31),
        granularity="month",
    )  # fmt: skip
    guide = client.get(GUIDE).content.decode()
    assert guide.count('aria-label="Breadcrumb"') == 1
    assert '<span aria-current="page">Setup guide</span>' in guide
    edit = client.get(f"/o/initech/admin/cycles/{cycle.pk}/").content.decode()
    assert edit.count('aria-label="Breadcrumb"') == 1
    assert 'href="/o/initech/admin/cycles/">Cycles</a>' in edit
    assert '<span aria-current="page">Edit Q1 2026</span>' in edit
