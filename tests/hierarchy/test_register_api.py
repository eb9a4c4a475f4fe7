import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

User = get_user_model()
URL = "/api/v1/auth/register/"


def test_it_registers_and_returns_a_working_token(db, api):
    response = api().post(
        URL, {"username": "nina", "email": "nina@example.test", "password": "a-long-passphrase"}
    )
    assert response.status_code == 201
    assert response.json()["username"] == "nina"
    token = response.json()["token"]
    assert Token.objects.get(key=token).user.username == "nina"

    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/orgs/").status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "x@example.test", "password": "a-long-passphrase"}, "username"),
        ({"username": "nina", "password": "a-long-passphrase"}, "email"),
        ({"username": "nina", "email": "x@example.test"}, "password"),
        ({"username": "ni na!", "email": "x@example.test", "password": "a-long-pass"}, "username"),
        ({"username": "nina", "email": "not-an-email", "password": "a-long-passphrase"}, "email"),
        ({"username": "nina", "email": "x@example.test", "password": "short"}, "password"),
        ({"username": "nina", "email": "x@example.test", "password": "password123"}, "password"),
        ({"username": "nina", "email": "x@example.test", "password": "12345678901"}, "password"),
        ({"username": "n" * 151, "email": "x@example.test", "password": "a-long-pass"}, "username"),
        ({"username": ["nina"], "email": "x@example.test", "password": "a-long-pass"}, "username"),
    ],
)
def test_it_rejects_bad_input_naming_the_field(db, api, body, field):
    response = api().post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert response.json()[field][0]
    assert not User.objects.exists()


def test_it_rejects_a_taken_username_whatever_its_case(db, api):
    api().post(URL, {"username": "nina", "email": "a@example.test", "password": "a-long-pass1"})
    response = api().post(
        URL, {"username": "NINA", "email": "b@example.test", "password": "a-long-pass2"}
    )
    assert response.status_code == 400
    assert response.json() == {"username": ["This username is taken."]}
    assert User.objects.count() == 1


def test_it_rejects_a_body_that_is_not_json(db, api):
    response = api().post(URL, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert not User.objects.exists()


def test_it_limits_sign_ups_per_address(db, api, settings):
    settings.REGISTER_RATE = "2/hour"
    for n in range(2):
        body = {"username": f"u{n}", "email": f"u{n}@example.test", "password": "a-long-pass1"}
        assert api().post(URL, body).status_code == 201
    body = {"username": "u9", "email": "u9@example.test", "password": "a-long-pass1"}
    refused = api().post(URL, body)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "3600"
    assert refused.json() == {
        "detail": "Too many sign-ups from this address. Try again in 3600 seconds."
    }
    assert not User.objects.filter(username="u9").exists()
    other = api().post(URL, body, REMOTE_ADDR="192.0.2.7")  # another address: its own count
    assert other.status_code == 201
