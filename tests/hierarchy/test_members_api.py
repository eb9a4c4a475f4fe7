import pytest

from hierarchy.models import Membership, Role
from tests.conftest import make_user

URL = "/api/v1/orgs/acme/members/"


def test_an_admin_adds_a_member(world, api):
    make_user("newbie")
    response = api(world.admin).post(URL, {"username": "newbie", "role": "viewer"})
    assert response.status_code == 201
    assert response.json()["username"] == "newbie"
    assert response.json()["role"] == "viewer"


def test_members_are_listed_with_roles(world, api):
    body = api(world.viewer).get(URL).json()
    assert body["count"] == 6
    roles = {m["username"]: m["role"] for m in body["results"]}
    assert roles["admin"] == "admin"
    assert roles["viewer"] == "viewer"
    assert "outsider" not in roles


@pytest.mark.parametrize("who", ["member", "viewer", "marketing_lead"])
def test_only_admins_add_members(world, api, who):
    make_user("newbie")
    response = api(getattr(world, who)).post(URL, {"username": "newbie", "role": "member"})
    assert response.status_code == 403
    assert not Membership.objects.filter(user__username="newbie").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "ghost", "role": "member"}, "username"),
        ({"username": "maya", "role": "member"}, "username"),
        ({"username": "newbie", "role": "owner"}, "role"),
        ({"role": "member"}, "username"),
        ({"username": "newbie"}, "role"),
    ],
)
def test_it_rejects_bad_input_and_writes_nothing(world, api, body, field):
    make_user("newbie")
    before = Membership.objects.count()
    response = api(world.admin).post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert Membership.objects.count() == before


def test_an_admin_changes_a_role(world, api):
    membership = Membership.objects.get(user=world.member)
    response = api(world.admin).patch(f"{URL}{membership.pk}/", {"role": "viewer"})
    assert response.status_code == 200
    membership.refresh_from_db()
    assert membership.role == Role.VIEWER


def test_the_last_admin_cannot_step_down_or_leave(world, api):
    membership = Membership.objects.get(user=world.admin)
    response = api(world.admin).patch(f"{URL}{membership.pk}/", {"role": "member"})
    assert response.status_code == 400
    assert "role" in response.json()
    response = api(world.admin).delete(f"{URL}{membership.pk}/")
    assert response.status_code == 400
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN


def test_a_department_lead_cannot_be_removed(world, api):
    membership = Membership.objects.get(user=world.marketing_lead)
    response = api(world.admin).delete(f"{URL}{membership.pk}/")
    assert response.status_code == 400
    assert "Marketing" in response.json()["username"][0]
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_an_admin_removes_a_member(world, api):
    membership = Membership.objects.get(user=world.member)
    assert api(world.admin).delete(f"{URL}{membership.pk}/").status_code == 204
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert api(world.member).get(URL).status_code == 404
