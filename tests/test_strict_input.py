"""Every write refuses a field it does not take, naming it (okrplan/lib/strict.py;
issue 13 item 9): the API's own serializers, DRF's (the token endpoint), nested ones,
whatever the operation. Nothing is written."""

import pytest

from hierarchy.models import Department
from plans.models import CheckIn

UNKNOWN = "Unknown field: not one this operation takes"


def _assert_names(response, *fields):
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    for field in fields:
        assert body[field][0].startswith(UNKNOWN), body


def test_it_refuses_an_unknown_field_in_a_patch(planning, world, api):
    kr = planning.marketing_kr
    before = (kr.title, kr.target)
    response = api(world.marketing_lead).patch(
        f"/api/v1/orgs/acme/krs/{kr.pk}/", {"title": "New", "tagret": "5"}, format="json"
    )
    _assert_names(response, "tagret")
    assert "title" in response.json()["tagret"][0]  # says what it takes
    kr.refresh_from_db()
    assert (kr.title, kr.target) == before


def test_it_refuses_a_read_only_field_sent_back(world, api):
    response = api(world.admin).post(
        "/api/v1/orgs/acme/departments/", {"name": "Ops", "id": 99}, format="json"
    )
    _assert_names(response, "id")
    assert not Department.objects.filter(name="Ops").exists()


def test_it_names_every_unknown_field_of_a_create(planning, world, api):
    response = api(world.marketing_lead).post(
        f"/api/v1/orgs/acme/krs/{planning.marketing_kr.pk}/checkins/",
        {"period": 0, "value": "1", "amount": "1", "comment": "x"},
        format="json",
    )
    _assert_names(response, "amount", "comment")
    assert not CheckIn.objects.exists()


def test_it_refuses_an_unknown_field_before_login(db, api):
    response = api().post(
        "/api/v1/auth/token/", {"username": "a", "password": "b", "otp": "1"}, format="json"
    )
    _assert_names(response, "otp")


def test_it_refuses_an_unknown_field_of_a_settings_patch(world, api):
    response = api(world.admin).patch(
        "/api/v1/orgs/acme/settings/", {"notify_hours": "30", "notify_days": "1"}, format="json"
    )
    _assert_names(response, "notify_days")
    world.org.refresh_from_db()
    assert world.org.notify_hours != 30


@pytest.mark.parametrize("hours", ["1_0", "+5", " 5", "1e1", "\uff15", "\u0665"])
def test_it_reads_a_settings_number_in_plain_notation_only(world, api, hours):
    response = api(world.admin).patch(
        "/api/v1/orgs/acme/settings/", {"notify_hours": hours}, format="json"
    )
    assert response.status_code == 400
    assert "is not a number" in response.json()["notify_hours"][0]


@pytest.mark.parametrize("kr", ["+1", "1_0", "\uff11"])
def test_it_reads_an_id_filter_in_plain_notation_only(world, api, kr):
    response = api(world.admin).get("/api/v1/orgs/acme/krs/", {"cycle": kr})
    assert response.status_code == 400


@pytest.mark.parametrize("size", ["0", "-1", "501", "abc", "1.5", "+5", "\uff15", ""])
def test_it_refuses_a_bad_page_size_naming_it(world, api, size):
    response = api(world.admin).get("/api/v1/orgs/acme/departments/", {"page_size": size})
    assert response.status_code == 400
    assert "Give a whole number from 1 to 500" in response.json()["page_size"][0]


def test_it_takes_a_good_page_size(world, api):
    response = api(world.admin).get("/api/v1/orgs/acme/departments/", {"page_size": "1"})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 1 and response.json()["next"]


@pytest.mark.parametrize(
    ("path", "name"),
    [("notifications/", "unread"), ("steps/", "mine"), ("steps/", "open")],
)
def test_it_refuses_a_bad_flag_naming_it(world, api, path, name):
    client = api(world.admin)
    for good in ["1", "0", "true", "false", "True"]:
        assert client.get(f"/api/v1/orgs/acme/{path}", {name: good}).status_code == 200
    response = client.get(f"/api/v1/orgs/acme/{path}", {name: "maybe"})
    assert response.status_code == 400
    assert response.json() == {name: ["Give true or false (1 or 0), not “maybe”."]}


def test_it_refuses_a_bad_root_filter_naming_it(world, api):
    client = api(world.admin)
    assert client.get("/api/v1/orgs/acme/krs/", {"root": "true"}).status_code == 200
    response = client.get("/api/v1/orgs/acme/krs/", {"root": "null"})
    assert response.status_code == 400
    assert response.json() == {"root": ["Give true or false (1 or 0), not “null”."]}


def test_it_takes_an_id_filter_as_large_as_an_id(world, api):
    response = api(world.admin).get("/api/v1/orgs/acme/krs/", {"cycle": str(2**63 - 1)})
    assert response.status_code == 200 and response.json()["count"] == 0
    response = api(world.admin).get("/api/v1/orgs/acme/krs/", {"cycle": str(2**63)})
    assert response.status_code == 400
    assert "less than or equal to" in response.json()["cycle"][0]


def test_it_refuses_a_number_for_a_text_field(planning, world, api):
    response = api(world.marketing_lead).post(
        f"/api/v1/orgs/acme/krs/{planning.marketing_kr.pk}/checkins/",
        {"period": 0, "value": "1", "note": 0},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"note": ["Give text (a JSON string)."]}
    assert not CheckIn.objects.exists()
