"""One-line names (issue 13 item 1a): organization, department and cycle names, objective
and KR titles, units and people's names refuse line breaks and control characters at
every door (the API, the pages, the Django admin, the organization import, the services),
with 400 naming the field. An organization named "N\\r\\nSUMMARY:INJ" had stopped every
tenant's e-mail (BadHeaderError) and broken its calendar.ics."""

import json
from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from hierarchy import services as hs
from hierarchy.models import Cycle, Department, KeyResult, Objective, Organization
from okrplan import orgdata
from okrplan.lib.text import ONE_LINE_MESSAGE, is_one_line, one_line
from tests.planning import make_kr

BAD = [
    "N\r\nSUMMARY:INJ",
    "two\nlines",
    "a\rb",
    "tab\there",
    "bell\x07",
    "del\x7f",
    "nel\x85",
    "line\u2028separator",
    "para\u2029separator",
    "over\u202eride",
    "zero\u200bwidth",
    "bom\ufeff",
]


@pytest.mark.parametrize("value", BAD)
def test_it_tells_a_name_on_one_line_from_one_with_breaks_or_controls(value):
    assert not is_one_line(value)
    assert is_one_line(one_line(value))


@pytest.mark.parametrize(
    "value",
    [
        "Acme GmbH",
        "Ventes · Q1",
        "👩‍💻 Engineering",
        "مبيعات\u200f",
        "कार्यक्षमता",
        "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
    ],
)
def test_it_keeps_what_writing_needs(value):
    assert is_one_line(value)


def assert_refused(response, field):
    assert response.status_code == 400, response.content
    assert response.json() == {field: [ONE_LINE_MESSAGE]}


# --- The API ----------------------------------------------------------------


@pytest.mark.parametrize("value", ["N\r\nSUMMARY:INJ", "tab\there", "line\u2028separator"])
def test_the_api_refuses_an_organization_name_on_two_lines(world, api, value):
    response = api(world.member).post(
        "/api/v1/orgs/", {"name": value, "slug": "inj"}, format="json"
    )
    assert_refused(response, "name")
    assert not Organization.objects.filter(slug="inj").exists()


def test_the_api_refuses_a_department_name_on_two_lines(world, api):
    url = "/api/v1/orgs/acme/departments/"
    client = api(world.admin)
    assert_refused(client.post(url, {"name": "Ops\nX", "lead": "maya"}, format="json"), "name")
    assert not Department.objects.filter(name__startswith="Ops").exists()
    response = client.patch(f"{url}{world.marketing.pk}/", {"name": "M\x1bK"}, format="json")
    assert_refused(response, "name")
    world.marketing.refresh_from_db()
    assert world.marketing.name == "Marketing"


def test_the_api_refuses_a_cycle_name_on_two_lines(world, api):
    url = "/api/v1/orgs/acme/cycles/"
    q1 = {"name": "Q1\r\n2026", "start": "2026-01-01", "end": "2026-03-31", "granularity": "month"}
    client = api(world.admin)
    assert_refused(client.post(url, q1, format="json"), "name")
    assert not Cycle.objects.exists()
    cycle_id = client.post(url, {**q1, "name": "Q1 2026"}, format="json").json()["id"]
    assert_refused(client.patch(f"{url}{cycle_id}/", {"name": "Q\x1f1"}, format="json"), "name")
    assert Cycle.objects.get().name == "Q1 2026"


def test_the_api_refuses_an_objective_title_on_two_lines(planning, world, api):
    url = "/api/v1/orgs/acme/objectives/"
    client = api(world.admin)
    body = {"cycle": planning.cycle.pk, "title": "Retain\u2029more", "owner": "owner"}
    assert_refused(client.post(url, body, format="json"), "title")
    assert Objective.objects.count() == 1
    response = client.patch(f"{url}{planning.objective.pk}/", {"title": "Grow\nnew"}, format="json")
    assert_refused(response, "title")
    planning.objective.refresh_from_db()
    assert planning.objective.title == "Grow new business"


@pytest.mark.parametrize("field", ["title", "unit"])
def test_the_api_refuses_a_kr_title_or_unit_on_two_lines(planning, world, api, field):
    url = "/api/v1/orgs/acme/krs/"
    client = api(world.admin)
    body = {
        "objective": planning.objective.pk,
        "title": "Field events",
        "owner": "maya",
        "department": world.marketing.pk,
        "unit": "USD",
        "metric_kind": "cumulative",
        "target": "250000",
        field: "US\r\nD",
    }
    before = KeyResult.objects.count()
    assert_refused(client.post(url, body, format="json"), field)
    assert KeyResult.objects.count() == before
    kr = make_kr(world, planning.objective, title="Marketing pipeline")
    response = client.patch(f"{url}{kr.pk}/", {field: "x\ty"}, format="json")
    assert_refused(response, field)
    kr.refresh_from_db()
    assert (kr.title, kr.unit) == ("Marketing pipeline", "USD")


# --- The pages ----------------------------------------------------------------


def test_the_departments_page_shows_the_refusal_next_to_the_name(world, client):
    client.force_login(world.admin)
    url = "/o/acme/admin/departments/"
    response = client.post(url, {"name": "Field\u2028Marketing", "lead": "maya", "parent": ""})
    assert response.status_code == 400
    page = response.content.decode()
    assert ONE_LINE_MESSAGE in page
    assert 'id="add-name"' in page and 'aria-invalid="true"' in page
    assert not Department.objects.filter(name__startswith="Field").exists()
    response = client.post(f"{url}{world.marketing.pk}/", {"name": "M\x07", "lead": "maya"})
    assert ONE_LINE_MESSAGE in response.content.decode()
    world.marketing.refresh_from_db()
    assert world.marketing.name == "Marketing"


def test_the_cycles_page_shows_the_refusal_next_to_the_name(world, client):
    client.force_login(world.admin)
    response = client.post(
        "/o/acme/admin/cycles/",
        {"name": "Q1\t2026", "start": "2026-01-01", "end": "2026-03-31", "granularity": "month"},
    )
    assert response.status_code == 400
    assert ONE_LINE_MESSAGE in response.content.decode()
    assert not Cycle.objects.exists()


def test_the_django_admin_refuses_an_organization_name_on_two_lines(world, client):
    admin = get_user_model().objects.create_superuser("root", "root@example.test", "pw")
    client.force_login(admin)
    url = f"/admin/hierarchy/organization/{world.org.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    form = {
        key: value
        for key, value in page.context["adminform"].form.initial.items()
        if value is not None
    }
    response = client.post(
        url,
        {
            **form,
            "name": "Acme\r\nSUMMARY:INJ",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
            "membership_set-TOTAL_FORMS": "0",
            "membership_set-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200  # the form again, with the error by the field
    assert ONE_LINE_MESSAGE in response.content.decode()
    world.org.refresh_from_db()
    assert world.org.name == "Acme"


def test_the_django_admin_refuses_a_display_name_on_two_lines(world, client):
    admin = get_user_model().objects.create_superuser("root", "root@example.test", "pw")
    client.force_login(admin)
    user = world.member
    url = f"/admin/auth/user/{user.pk}/change/"
    form = {
        "username": user.username,
        "first_name": "Mem\r\nBcc: x@evil.test",
        "last_name": "Ber",
        "email": user.email,
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }
    response = client.post(url, form)
    assert response.status_code == 200
    assert ONE_LINE_MESSAGE in response.content.decode()
    user.refresh_from_db()
    assert "\n" not in user.first_name


# --- The organization import and the services ----------------------------------


def _export(world) -> dict:
    return json.loads(json.dumps(orgdata.org_export(org=world.org), default=str))


@pytest.mark.parametrize(
    ("where", "field"),
    [("organization", "name"), ("hierarchy.department", "name"), ("users", "first_name")],
)
def test_the_import_refuses_a_name_on_two_lines_and_imports_nothing(world, where, field):
    document = _export(world)
    if where == "organization":
        document["organization"]["name"] = "Acme\r\nSUMMARY:INJ"
    elif where == "users":
        document["users"] = [
            {"username": "newcomer", "email": "n@example.test", "first_name": "New\ncomer"}
        ]
    else:
        document["rows"][where][0][field] = "Mar\nketing"
    with pytest.raises(orgdata.OrgDataError, match="one line"):
        orgdata.org_import(data=document, slug="acme-copy")
    assert not Organization.objects.filter(slug="acme-copy").exists()
    assert not get_user_model().objects.filter(username="newcomer").exists()


def test_no_service_stores_a_name_on_two_lines(planning, world):
    """The model refuses it on save: a path that never calls `full_clean` (a script, the
    demo, a future service) cannot store one either."""
    with pytest.raises(ValidationError) as refused:
        hs.objective_create(org=world.org, cycle=planning.cycle, title="a\nb", owner=world.owner)
    assert refused.value.message_dict == {"title": [ONE_LINE_MESSAGE]}
    with pytest.raises(ValidationError):
        hs.cycle_create(
            org=world.org,
            name="Q2\r\n2026",
            start=date(2026, 4, 1),
            end=date(2026, 6, 30),
            granularity="month",
        )
    assert Objective.objects.count() == 1
    assert Cycle.objects.count() == 1
