import pytest

from tests.conftest import PASSWORD

URL = "/api/v1/auth/token/"


def test_it_returns_the_users_token(world, api):
    response = api().post(URL, {"username": "maya", "password": PASSWORD})
    assert response.status_code == 200
    again = api().post(URL, {"username": "maya", "password": PASSWORD})
    assert again.json()["token"] == response.json()["token"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "maya", "password": "wrong"}, "non_field_errors"),
        ({"username": "nobody", "password": PASSWORD}, "non_field_errors"),
        ({"password": PASSWORD}, "username"),
        ({"username": "maya"}, "password"),
    ],
)
def test_it_refuses_bad_credentials(world, api, body, field):
    response = api().post(URL, body)
    assert response.status_code == 400
    assert field in response.json()
