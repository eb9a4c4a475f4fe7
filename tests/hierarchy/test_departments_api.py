import pytest

from hierarchy.models import Department

URL = "/api/v1/orgs/acme/departments/"


def test_an_admin_creates_a_department(world, api):
    response = api(world.admin).post(
        URL, {"name": "Field Marketing", "lead": "maya", "parent": world.marketing.pk}
    )
    assert response.status_code == 201
    body = response.json()
    assert body["lead"] == "maya"
    assert body["parent"] == world.marketing.pk
    assert Department.objects.get(pk=body["id"]).organization == world.org


@pytest.mark.parametrize("who", ["member", "viewer", "owner"])
def test_only_admins_create_departments(world, api, who):
    response = api(getattr(world, who)).post(URL, {"name": "Ops", "lead": "maya"})
    assert response.status_code == 403
    assert not Department.objects.filter(name="Ops").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lead": "maya"}, "name"),
        ({"name": "Ops"}, "lead"),
        ({"name": "Ops", "lead": "outsider"}, "lead"),
        ({"name": "Ops", "lead": "ghost"}, "lead"),
        ({"name": "Ops", "lead": 7}, "lead"),
        ({"name": "Ops", "lead": "maya", "parent": "other"}, "parent"),
        ({"name": "Ops", "lead": "maya", "parent": 10**30}, "parent"),
        ({"name": "marketing", "lead": "maya"}, "name"),
    ],
)
def test_it_rejects_bad_input_and_writes_nothing(world, api, body, field):
    before = Department.objects.count()
    response = api(world.admin).post(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert Department.objects.count() == before


def test_a_foreign_parent_answers_like_a_missing_one(world, api):
    foreign = api(world.admin).post(
        URL, {"name": "Ops", "lead": "maya", "parent": world.other_department.pk}
    )
    missing = api(world.admin).post(URL, {"name": "Ops", "lead": "maya", "parent": 999999})
    assert foreign.status_code == missing.status_code == 400
    assert foreign.json()["parent"][0].replace(str(world.other_department.pk), "N") == (
        missing.json()["parent"][0].replace("999999", "N")
    )
    assert not Department.objects.filter(name="Ops").exists()


def test_a_department_cannot_be_put_under_its_own_sub_department(world, api):
    child = Department.objects.create(
        organization=world.org, name="Field", lead=world.marketing_lead, parent=world.marketing
    )
    response = api(world.admin).patch(
        f"{URL}{world.marketing.pk}/", {"parent": child.pk}, format="json"
    )
    assert response.status_code == 400
    assert "parent" in response.json()
    world.marketing.refresh_from_db()
    assert world.marketing.parent is None


def test_an_admin_renames_and_relinks_a_department(world, api):
    response = api(world.admin).patch(
        f"{URL}{world.sales.pk}/", {"name": "Revenue", "lead": "owner"}, format="json"
    )
    assert response.status_code == 200
    world.sales.refresh_from_db()
    assert (world.sales.name, world.sales.lead) == ("Revenue", world.owner)


def test_a_department_with_sub_departments_is_not_deleted(world, api):
    Department.objects.create(
        organization=world.org, name="Field", lead=world.marketing_lead, parent=world.marketing
    )
    response = api(world.admin).delete(f"{URL}{world.marketing.pk}/")
    assert response.status_code == 400
    assert Department.objects.filter(pk=world.marketing.pk).exists()


def test_it_refuses_a_lead_with_a_nul_character(world, api):
    """A username is looked up in the database: PostgreSQL refused the NUL (500)."""
    response = api(world.admin).post(URL, {"name": "Ops", "lead": "ma\x00ya"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"lead": ["Remove the null character: it cannot be stored."]}
    assert not Department.objects.filter(name="Ops").exists()


# --- Issue 14 item 4: archive, delete only when empty ---------------------------------


def test_an_admin_archives_and_restores_a_department(world, api):
    url = f"{URL}{world.sales.pk}/"
    response = api(world.admin).patch(url, {"archived": True}, format="json")
    assert response.status_code == 200
    assert response.json()["archived_at"] is not None

    def names(query):
        return [d["name"] for d in api(world.viewer).get(URL + query).json()["results"]]

    assert names("") == ["Marketing", "Sales"]
    assert names("?archived=false") == ["Marketing"]
    assert names("?archived=true") == ["Sales"]
    assert api(world.viewer).patch(url, {"archived": False}, format="json").status_code == 403
    response = api(world.admin).patch(url, {"archived": False, "name": "Sales & BD"}, format="json")
    assert response.json()["archived_at"] is None and response.json()["name"] == "Sales & BD"


def test_a_department_with_key_results_is_not_deleted_and_says_why(planning, world, api):
    response = api(world.admin).delete(f"{URL}{world.marketing.pk}/")
    assert response.status_code == 400
    assert response.json() == {
        "detail": [
            "Marketing has 1 key result: it cannot be deleted. Move them to another "
            "department first, or archive Marketing (what it has stays readable)."
        ]
    }


def test_a_sub_department_of_an_archived_one_is_refused(world, api):
    api(world.admin).patch(f"{URL}{world.sales.pk}/", {"archived": True}, format="json")
    response = api(world.admin).post(
        URL, {"name": "Field", "lead": "sam", "parent": world.sales.pk}
    )
    assert response.status_code == 400
    assert response.json() == {
        "parent": ["The department Sales is archived: restore it first, or choose another."]
    }
