"""One normalisation of usernames (NFKC, then casefold) at every door: the login form,
the token endpoint, registration and /admin/login/ (issue 13, item 4)."""

import pytest
from django.contrib.auth import get_user_model

from okrplan.lib.usernames import username_key
from tests.conftest import PASSWORD, make_user

User = get_user_model()

# full-width b, mathematical bold b, mathematical bold italic b, upper case
VARIANTS = ["\uff42fuser3", "\U0001d41bfuser3", "\U0001d483fuser3", "BFUSER3"]


def test_it_gives_every_spelling_one_key():
    assert {username_key(v) for v in VARIANTS} == {"bfuser3"}
    assert username_key("  Straße ") == "strasse"


def _attempt(door: str, client, api, username: str, password: str) -> int:
    if door == "login":
        return client.post("/accounts/login/", {"username": username, "password": password})
    if door == "token":
        return api().post("/api/v1/auth/token/", {"username": username, "password": password})
    return client.post("/admin/login/", {"username": username, "password": password})


@pytest.mark.parametrize("door", ["login", "token", "admin"])
def test_it_counts_every_spelling_against_one_budget(db, client, api, settings, door):
    make_user("bfuser3", is_staff=True)
    settings.LOGIN_RATE = "4/min"
    for variant in VARIANTS:  # four wrong guesses, four spellings: the budget is spent
        assert _attempt(door, client, api, variant, "guess").status_code in (200, 400)
    for variant in ["bfuser3", *VARIANTS]:
        refused = _attempt(door, client, api, variant, PASSWORD)
        assert refused.status_code == 429, variant
        assert int(refused["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("door", ["login", "token", "admin"])
def test_it_finds_the_account_by_any_spelling(db, client, api, door):
    user = make_user("bfuser3", is_staff=True)
    for variant in VARIANTS:
        response = _attempt(door, client, api, variant, PASSWORD)
        if door == "token":
            assert response.status_code == 200, variant
        else:
            assert response.status_code == 302, variant
            assert client.session["_auth_user_id"] == str(user.pk)
            client.logout()


def test_the_admin_login_says_why_it_refuses(db, client, settings):
    make_user("bfuser3", is_staff=True)
    settings.LOGIN_RATE = "1/min"
    client.post("/admin/login/", {"username": "bfuser3", "password": "guess"})
    refused = client.post("/admin/login/", {"username": "bfuser3", "password": PASSWORD})
    assert refused.status_code == 429
    assert refused["Retry-After"] == "60"
    assert b"Too many login attempts. Try again in 60 seconds." in refused.content
    assert b'name="username"' in refused.content  # the form again


@pytest.mark.parametrize("variant", VARIANTS)
def test_registration_refuses_a_name_that_normalises_to_a_taken_one(db, api, variant):
    make_user("bfuser3")
    response = api().post(
        "/api/v1/auth/register/",
        {"username": variant, "email": "x@example.test", "password": "a-long-passphrase"},
    )
    assert response.status_code == 400
    assert response.json() == {"username": ["This username is taken."]}
    assert User.objects.count() == 1
