"""Moving, archiving, restoring and deleting departments on the admin page (issue 14
item 4): the row's "Part of", and /o/<org>/admin/departments/<id>/archive/, restore/,
delete/."""

import re

import pytest

from hierarchy import services as hs
from hierarchy.models import Department

URL = "/o/acme/admin/departments/"


def action(department, what: str) -> str:
    return f"{URL}{department.pk}/{what}/"


def row(page: str, department) -> str:
    match = re.search(rf'<(tr|li) id="department-{department.pk}".*?</(tr|li)>', page, re.S)
    assert match, f"no row for {department}"
    return match.group(0)


def test_a_row_moves_its_department_under_another(world, client):
    client.force_login(world.admin)
    page = client.get(URL).content.decode()
    assert 'name="parent"' in row(page, world.sales)
    assert f'<option value="{world.sales.pk}"' not in row(page, world.sales)  # not itself
    response = client.post(
        f"{URL}{world.sales.pk}/", {"name": "Sales", "lead": "sam", "parent": world.marketing.pk}
    )
    assert response.status_code == 302
    world.sales.refresh_from_db()
    assert world.sales.parent == world.marketing
    # and back to the top level
    client.post(f"{URL}{world.sales.pk}/", {"name": "Sales", "lead": "sam", "parent": ""})
    world.sales.refresh_from_db()
    assert world.sales.parent is None


def test_a_loop_is_refused_next_to_the_parent(world, client):
    hs.department_update(department=world.sales, parent=world.marketing)
    client.force_login(world.admin)
    response = client.post(
        f"{URL}{world.marketing.pk}/",
        {"name": "Marketing", "lead": "maya", "parent": world.sales.pk},
    )
    assert response.status_code == 400
    block = row(response.content.decode(), world.marketing)
    assert re.search(
        rf'id="dept-{world.marketing.pk}-parent-errors"><li>A department cannot be placed '
        "under itself",
        block,
    )
    world.marketing.refresh_from_db()
    assert world.marketing.parent is None


def test_an_archived_department_leaves_the_list_and_the_pickers_and_is_restored(
    planning, world, client
):
    client.force_login(world.admin)
    response = client.post(action(world.marketing, "archive"))
    assert (response.status_code, response["Location"]) == (302, f"{URL}?archived=1")
    page = client.get(URL).content.decode()
    assert "Marketing is archived: forms no longer offer it" in page
    assert f'<tr id="department-{world.marketing.pk}"' not in page
    assert f'<option value="{world.marketing.pk}"' not in page  # no "Part of" offers it
    assert "Show archived (1)" in page
    page = client.get(f"{URL}?archived=1").content.decode()
    archived = row(page, world.marketing)
    assert 'class="is-archived"' in archived
    assert f'action="{action(world.marketing, "restore")}"' in archived
    # its key results still read it
    tree = client.get(f"/o/acme/cycles/{planning.cycle.pk}/").content.decode()
    assert "Marketing pipeline" in tree and '<td data-label="Department">Marketing</td>' in tree
    # the organization's home lists the departments in use
    assert "<td>Marketing</td>" not in client.get("/o/acme/").content.decode()
    assert client.post(action(world.marketing, "restore")).status_code == 302
    world.marketing.refresh_from_db()
    assert world.marketing.archived_at is None


def test_a_department_with_key_results_is_not_deleted_and_the_page_says_why(
    planning, world, client
):
    client.force_login(world.admin)
    response = client.post(action(world.marketing, "delete"))
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Marketing has 1 key result: it cannot be deleted." in page
    assert Department.objects.filter(pk=world.marketing.pk).exists()


def test_an_empty_department_is_deleted(world, client):
    ops = hs.department_create(org=world.org, name="Ops", lead=world.member)
    client.force_login(world.admin)
    assert client.post(action(ops, "delete")).status_code == 302
    assert not Department.objects.filter(pk=ops.pk).exists()
    assert "Ops is deleted." in client.get(URL).content.decode()


@pytest.mark.parametrize("who", ["member", "viewer", "owner", "marketing_lead"])
@pytest.mark.parametrize("what", ["archive", "restore", "delete"])
def test_it_forbids_everyone_but_admins(world, client, who, what):
    ops = hs.department_create(org=world.org, name="Ops", lead=world.member)
    client.force_login(getattr(world, who))
    assert client.post(action(ops, what)).status_code == 403
    assert client.get(action(ops, what)).status_code == 405
    ops.refresh_from_db()
    assert ops.archived_at is None


@pytest.mark.parametrize("what", ["archive", "restore", "delete"])
def test_it_answers_404_to_an_outsider_and_for_a_foreign_department(world, client, what):
    client.force_login(world.outsider)
    assert client.post(action(world.sales, what)).status_code == 404
    client.force_login(world.admin)
    assert client.post(action(world.other_department, what)).status_code == 404
    assert Department.objects.filter(archived_at__isnull=False).count() == 0
    assert Department.objects.count() == 3


def test_the_list_costs_the_same_queries_with_archived_departments(
    world, client, django_assert_num_queries
):
    for i in range(6):
        hs.department_archive(
            department=hs.department_create(org=world.org, name=f"Old {i}", lead=world.member)
        )
    client.force_login(world.admin)
    # session, user, scope, departments, members, + the base template's unread count
    with django_assert_num_queries(6):
        page = client.get(f"{URL}?archived=1").content.decode()
    assert page.count('<li id="department-') == 6
