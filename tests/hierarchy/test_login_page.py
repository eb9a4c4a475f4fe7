import time_machine

from tests.conftest import PASSWORD

URL = "/accounts/login/"


def test_it_logs_in(world, client):
    response = client.post(URL, {"username": "maya", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_it_limits_attempts_then_lets_the_user_in_again(world, client, settings):
    settings.LOGIN_RATE = "3/min"
    with time_machine.travel("2026-02-02 09:00:00+00:00", tick=False) as clock:
        for _ in range(3):
            wrong = client.post(URL, {"username": "maya", "password": "guess"})
            assert wrong.status_code == 200
            assert b"didn't match" in wrong.content

        refused = client.post(URL, {"username": "maya", "password": PASSWORD, "next": "/o/acme/"})
        assert refused.status_code == 429
        assert refused["Retry-After"] == "60"
        assert b"Too many login attempts. Try again in 60 seconds." in refused.content
        assert b'value="maya"' in refused.content  # the form again, to try later
        assert b'value="/o/acme/"' in refused.content
        assert "_auth_user_id" not in client.session  # the password was not even tried

        # the form and the API share the count: the same person, the same address
        token = client.post("/api/v1/auth/token/", {"username": "maya", "password": PASSWORD})
        assert token.status_code == 429

        clock.shift(61)
        again = client.post(URL, {"username": "maya", "password": PASSWORD})
        assert again.status_code == 302
        assert client.session["_auth_user_id"] == str(world.marketing_lead.pk)


def test_it_does_not_count_showing_the_form(world, client, settings):
    settings.LOGIN_RATE = "1/min"
    for _ in range(3):
        assert client.get(URL).status_code == 200
    assert client.post(URL, {"username": "maya", "password": PASSWORD}).status_code == 302
