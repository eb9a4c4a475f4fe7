import pytest

from hierarchy.models import Invitation, Membership, Role
from tests.conftest import make_user

URL = "/api/v1/orgs/acme/members/"


def test_adding_a_member_invites_them_and_shows_nothing_of_them(world, api):
    make_user("newbie", first_name="Nina", last_name="Newbie")
    response = api(world.admin).post(URL, {"username": "newbie", "role": "viewer"})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "username", "role", "status", "expires_at"}
    assert body["username"] == "newbie" and body["role"] == "viewer"
    assert body["status"] == "pending"
    assert "newbie@example.test" not in response.content.decode()
    assert "Nina" not in response.content.decode()
    assert not Membership.objects.filter(user__username="newbie").exists()  # until they accept
    listed = api(world.admin).get(URL).json()["results"]
    assert "newbie" not in {m["username"] for m in listed}
    assert "newbie@example.test" not in str(listed)


def test_it_answers_the_same_whether_or_not_the_name_exists(world, api):
    make_user("newbie")
    known = api(world.admin).post(URL, {"username": "newbie", "role": "member"})
    unknown = api(world.admin).post(URL, {"username": "nobody-here", "role": "member"})
    assert known.status_code == unknown.status_code == 201
    strip = {"id", "username", "expires_at"}
    assert {k: v for k, v in known.json().items() if k not in strip} == {
        k: v for k, v in unknown.json().items() if k not in strip
    }
    assert set(known.json()) == set(unknown.json())


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
        ({"username": "maya", "role": "member"}, "username"),  # a current member
        ({"username": "MAYA", "role": "member"}, "username"),  # the same, spelled otherwise
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
    assert not Invitation.objects.exists()


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
