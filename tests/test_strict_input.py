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
