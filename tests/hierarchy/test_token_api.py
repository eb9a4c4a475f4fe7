import pytest
import time_machine

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


def test_it_limits_attempts_per_address_and_username_then_lets_them_in_again(world, api, settings):
    settings.LOGIN_RATE = "3/min"
    with time_machine.travel("2026-02-02 09:00:00+00:00", tick=False) as clock:
        for _ in range(3):
            assert api().post(URL, {"username": "maya", "password": "guess"}).status_code == 400
        refused = api().post(URL, {"username": "maya", "password": PASSWORD})
        assert refused.status_code == 429
        assert refused["Retry-After"] == "60"
        assert refused.json() == {"detail": "Too many login attempts. Try again in 60 seconds."}
        assert "token" not in refused.json()

        # another username from the same address is counted on its own
        assert api().post(URL, {"username": "sam", "password": PASSWORD}).status_code == 200

        clock.shift(45)
        later = api().post(URL, {"username": "MAYA", "password": PASSWORD})  # same account
        assert later.status_code == 429
        assert later["Retry-After"] == "15"

        clock.shift(16)  # the window has passed
        again = api().post(URL, {"username": "maya", "password": PASSWORD})
        assert again.status_code == 200
        assert "token" in again.json()


def test_it_counts_by_the_address_it_sees_not_a_forwarded_for_header(world, api, settings):
    settings.LOGIN_RATE = "2/min"
    for n in range(2):
        api().post(
            URL, {"username": "maya", "password": "guess"}, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}"
        )
    made_up = api().post(
        URL, {"username": "maya", "password": PASSWORD}, HTTP_X_FORWARDED_FOR="10.0.0.9"
    )
    assert made_up.status_code == 429
    other_address = api().post(
        URL, {"username": "maya", "password": PASSWORD}, REMOTE_ADDR="192.0.2.7"
    )
    assert other_address.status_code == 200


def _with_token(key: str):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_token_authenticates_its_user_and_nothing_else(world, api):
    key = api().post(URL, {"username": "maya", "password": PASSWORD}).json()["token"]
    me = _with_token(key).get("/api/v1/orgs/acme/departments/")
    assert me.status_code == 200

    wrong = _with_token(key[:-1] + ("0" if key[-1] != "0" else "1")).get(
        "/api/v1/orgs/acme/departments/"
    )
    assert wrong.status_code == 401
    assert wrong.json() == {"detail": "Invalid token."}
    too_long = _with_token(key + "x" * 300).get("/api/v1/orgs/acme/departments/")
    assert too_long.status_code == 401


def test_the_token_of_a_deactivated_user_is_refused(world, api):
    key = api().post(URL, {"username": "maya", "password": PASSWORD}).json()["token"]
    world.marketing_lead.is_active = False
    world.marketing_lead.save()
    refused = _with_token(key).get("/api/v1/orgs/acme/departments/")
    assert refused.status_code == 401
    assert refused.json() == {"detail": "User inactive or deleted."}
