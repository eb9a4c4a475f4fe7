"""The admin page of the departments: /o/<org>/admin/departments/ (list, create,
rename, set lead)."""

import re

import pytest
from django.test import Client

from hierarchy.models import Department
from tests.conftest import make_member

URL = "/o/acme/admin/departments/"


def update_url(department) -> str:
    return f"{URL}{department.pk}/"


def row(page: str, department) -> str:
    match = re.search(rf'<tr id="department-{department.pk}".*?</tr>', page, re.S)
    assert match, f"no row for {department}"
    return match.group(0)


def test_it_lists_the_departments_with_their_leads(world, client):
    Department.objects.create(
        organization=world.org, name="Field", lead=world.owner, parent=world.marketing
    )
    client.force_login(world.admin)
    response = client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Departments</h1>" in page
    assert 'value="maya"' in row(page, world.marketing)
    field = Department.objects.get(name="Field")
    assert "Marketing" in row(page, field)  # part of
    assert page.count('<tr id="department-') == 3
    assert '<datalist id="member-usernames">' in page and '<option value="sam">' in page
    assert "outsider" not in page  # Globex's admin is no lead here
    for label in ('for="add-name"', 'for="add-lead"', 'for="add-parent"'):
        assert label in page


def test_it_creates_a_department(world, client):
    client.force_login(world.admin)
    response = client.post(URL, {"name": "Field Marketing", "lead": "maya", "parent": ""})
    assert response.status_code == 302 and response["Location"] == URL
    department = Department.objects.get(organization=world.org, name="Field Marketing")
    assert (department.lead, department.parent) == (world.marketing_lead, None)
    response = client.post(
        URL, {"name": "Events", "lead": "owner", "parent": str(world.marketing.pk)}
    )
    assert response.status_code == 302
    assert Department.objects.get(name="Events").parent == world.marketing
    assert "Department Events created, led by owner." in client.get(URL).content.decode()


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"lead": "maya"}, "name", "Give the department a name."),
        ({"name": "  ", "lead": "maya"}, "name", "Give the department a name."),
        ({"name": "Ops"}, "lead", "Give a username: a member of the organization leads"),
        ({"name": "Ops", "lead": "outsider"}, "lead", "No member of this organization"),
        ({"name": "Ops", "lead": "ghost"}, "lead", "No member of this organization"),
        ({"name": "Ops", "lead": "maya", "parent": "other"}, "parent", "does not exist"),
        ({"name": "Ops", "lead": "maya", "parent": str(10**30)}, "parent", "does not exist"),
        ({"name": "marketing", "lead": "maya"}, "name", "exists already"),
    ],
)
def test_it_refuses_what_the_api_refuses_and_names_the_field(world, client, body, field, message):
    before = Department.objects.count()
    client.force_login(world.admin)
    response = client.post(URL, body)
    assert response.status_code == 400
    page = response.content.decode()
    errors = re.search(rf'<ul class="errorlist" id="add-{field}-errors">(.*?)</ul>', page, re.S)
    assert errors and message in errors.group(1), page
    assert Department.objects.count() == before


def test_a_foreign_parent_is_refused_like_a_missing_one(world, client):
    client.force_login(world.admin)
    response = client.post(
        URL, {"name": "Ops", "lead": "maya", "parent": str(world.other_department.pk)}
    )
    assert response.status_code == 400
    assert "does not exist" in response.content.decode()  # as for a missing one
    assert not Department.objects.filter(name="Ops").exists()


def test_it_renames_and_sets_the_lead(world, client):
    client.force_login(world.admin)
    response = client.post(update_url(world.sales), {"name": "Revenue", "lead": "owner"})
    assert response.status_code == 302 and response["Location"] == URL
    world.sales.refresh_from_db()
    assert (world.sales.name, world.sales.lead) == ("Revenue", world.owner)
    assert "Department Revenue saved (lead: owner)." in client.get(URL).content.decode()


def test_it_saves_a_row_inline_for_htmx(world, client):
    client.force_login(world.admin)
    response = client.post(
        update_url(world.sales), {"name": "Sales EMEA", "lead": "sam"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.strip().startswith(f'<tr id="department-{world.sales.pk}"') and "<html" not in html
    assert 'value="Sales EMEA"' in html and "Saved." in html
    world.sales.refresh_from_db()
    assert world.sales.name == "Sales EMEA"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"name": "Marketing", "lead": "sam"}, "name", "exists already"),
        ({"name": "", "lead": "sam"}, "name", "Give the department a name."),
        ({"name": "Sales", "lead": "outsider"}, "lead", "No member of this organization"),
        ({"name": "Sales", "lead": ""}, "lead", "Give a username"),
    ],
)
def test_it_refuses_a_bad_row_and_writes_nothing(world, client, body, field, message):
    client.force_login(world.admin)
    response = client.post(update_url(world.sales), body)
    assert response.status_code == 400
    html = row(response.content.decode(), world.sales)
    errors = re.search(
        rf'<ul class="errorlist" id="dept-{world.sales.pk}-{field}-errors">(.*?)</ul>', html, re.S
    )
    assert errors and message in errors.group(1)
    response = client.post(update_url(world.sales), body, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and message in response.content.decode()
    world.sales.refresh_from_db()
    assert (world.sales.name, world.sales.lead) == ("Sales", world.sales_lead)


@pytest.mark.parametrize("who", ["member", "viewer", "owner", "marketing_lead"])
def test_it_forbids_everyone_but_admins(world, client, who):
    client.force_login(getattr(world, who))
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"name": "Ops", "lead": "maya"}).status_code == 403
    assert client.post(update_url(world.sales), {"name": "X", "lead": "maya"}).status_code == 403
    assert not Department.objects.filter(name__in=["Ops", "X"]).exists()


def test_it_answers_404_to_an_outsider_and_for_a_foreign_department(world, client):
    client.force_login(world.outsider)
    assert client.get(URL).status_code == 404
    assert client.post(URL, {"name": "Ops", "lead": "outsider"}).status_code == 404
    assert client.post(update_url(world.sales), {"name": "X"}).status_code == 404
    client.force_login(world.admin)
    response = client.post(update_url(world.other_department), {"name": "Taken"})
    assert response.status_code == 404
    world.other_department.refresh_from_db()
    assert world.other_department.name == "Marketing"


def test_it_refuses_posts_without_a_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.admin)
    assert client.post(URL, {"name": "Ops", "lead": "maya"}).status_code == 403
    assert client.post(update_url(world.sales), {"name": "X", "lead": "sam"}).status_code == 403
    assert not Department.objects.filter(name__in=["Ops", "X"]).exists()


def test_it_costs_the_same_queries_for_few_and_many_departments(
    world, client, django_assert_num_queries
):
    client.force_login(world.admin)
    # session, user, scope, departments, members, + the base template's 2
    with django_assert_num_queries(6):
        assert client.get(URL).status_code == 200
    for i in range(25):
        lead = make_member(world.org, f"lead{i:02d}")
        Department.objects.create(
            organization=world.org, name=f"Team {i:02d}", lead=lead, parent=world.marketing
        )
    with django_assert_num_queries(6):
        page = client.get(URL).content.decode()
    assert page.count('<tr id="department-') == 27


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"name": "x" * 201, "lead": "maya"}, "name", "Use at most 200 characters."),
        (
            {"name": "Ops", "lead": "ghost"},
            "lead",
            "No member of this organization is named “ghost”.",
        ),
        ({"name": "Ops", "lead": "ma\x00ya"}, "lead", "Remove the null character"),
        (
            {"name": "Ops", "lead": "maya", "parent": "other"},
            "parent",
            "That department does not exist (any more): choose one from the list.",
        ),
        ({}, "name", "Give the department a name."),
        ({}, "lead", "Give a username: a member of the organization leads the department."),
    ],
)
def test_it_says_what_is_wrong_in_the_users_words(world, client, body, field, message):
    client.force_login(world.admin)
    response = client.post(URL, body)
    assert response.status_code == 400
    page = response.content.decode()
    errors = re.search(rf'<ul class="errorlist" id="add-{field}-errors">(.*?)</ul>', page, re.S)
    assert errors and message in errors.group(1), page
    assert "This field" not in page and "Select a valid choice" not in page
    assert not Department.objects.filter(name="Ops").exists()


def test_a_refused_row_shows_what_was_typed(world, client):
    client.force_login(world.admin)
    body = {"name": "Sales EMEA", "lead": "ghost", "parent": ""}
    response = client.post(update_url(world.sales), body, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'value="Sales EMEA"' in html and 'value="ghost"' in html
    assert f'id="dept-{world.sales.pk}-lead" name="lead"' in html
    assert 'aria-invalid="true" aria-describedby="dept-' in html
    assert "Name of Sales" in html  # the label names it as it is
    world.sales.refresh_from_db()
    assert world.sales.name == "Sales"


def test_a_field_the_row_does_not_post_stays_as_it_is(world, client):
    field = Department.objects.create(
        organization=world.org, name="Field", lead=world.owner, parent=world.marketing
    )
    client.force_login(world.admin)
    response = client.post(update_url(field), {"name": "Field events"})
    assert response.status_code == 302
    field.refresh_from_db()
    assert (field.name, field.lead, field.parent) == ("Field events", world.owner, world.marketing)
