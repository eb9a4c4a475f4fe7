import pytest

from hierarchy.models import Membership, Organization, Role

URL = "/api/v1/orgs/"


def test_it_creates_an_organization_with_the_caller_as_admin(world, api):
    response = api(world.member).post(URL, {"name": "Initech", "slug": "initech"})
    assert response.status_code == 201
    assert response.json()["slug"] == "initech"
    assert response.json()["role"] == "admin"
    org = Organization.objects.get(slug="initech")
    assert Membership.objects.get(organization=org, user=world.member).role == Role.ADMIN


def test_it_lists_only_the_callers_organizations(world, api):
    body = api(world.outsider).get(URL).json()
    assert body["count"] == 1
    assert [o["slug"] for o in body["results"]] == ["globex"]
    assert body["results"][0]["role"] == "admin"


def test_it_needs_credentials(world, api):
    assert api().get(URL).status_code == 401
    assert api().post(URL, {"name": "X", "slug": "x"}).status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"slug": "initech"}, "name"),
        ({"name": "Initech"}, "slug"),
        ({"name": "Initech", "slug": "Has Spaces"}, "slug"),
        ({"name": "Initech", "slug": "acme"}, "slug"),
        ({"name": "", "slug": "initech"}, "name"),
        ({"name": "x" * 201, "slug": "initech"}, "name"),
    ],
)
def test_it_rejects_bad_input_and_writes_nothing(world, api, body, field):
    response = api(world.member).post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert Organization.objects.count() == 2
    assert Membership.objects.filter(user=world.member).count() == 1


def test_it_shows_an_organization_to_its_members_only(world, api):
    assert api(world.viewer).get("/api/v1/orgs/acme/").json()["role"] == "viewer"
    assert api(world.outsider).get("/api/v1/orgs/acme/").status_code == 404
