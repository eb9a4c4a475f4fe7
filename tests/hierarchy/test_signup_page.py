"""The sign-up page (/accounts/signup/, issue 14 item 1): the API's register in the
browser (the same service and limit), then logged in, on a home page that says what to
do next."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import include, path
from rest_framework.authtoken.models import Token

from tests.conftest import PASSWORD

User = get_user_model()
URL = "/accounts/signup/"
GOOD = {"username": "nina", "email": "nina@example.test", "password": "a-long-passphrase"}


def test_the_login_page_links_to_sign_up_and_password_reset(db, client):
    page = client.get("/accounts/login/").content.decode()
    assert f'href="{URL}"' in page
    assert 'href="/accounts/password/reset/"' in page


def test_it_signs_up_logs_in_and_lands_on_the_home_page(db, client):
    assert client.get(URL).status_code == 200
    response = client.post(URL, GOOD)
    assert response.status_code == 302 and response["Location"] == "/"
    user = User.objects.get(username="nina")
    assert user.email == "nina@example.test" and user.check_password(GOOD["password"])
    assert Token.objects.filter(user=user).exists()  # as the API's register makes it
    assert client.session["_auth_user_id"] == str(user.pk)
    home = client.get("/").content.decode()
    assert "Welcome to okrplan, nina." in home
    assert "What next" in home and "You are not a member of any organization yet." in home
    assert "invite you by your username, <strong>nina</strong>" in home
    assert 'href="/accounts/profile/"' in home


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({**GOOD, "username": ""}, "username", "Choose a username."),
        ({**GOOD, "username": "ni na!"}, "username", "Enter a valid username."),
        ({**GOOD, "username": "MAYA"}, "username", "This username is taken."),
        ({**GOOD, "email": ""}, "email", "Give your e-mail address."),
        ({**GOOD, "email": "not-an-email"}, "email", "Enter a valid e-mail address."),
        ({**GOOD, "password": ""}, "password", "Choose a password."),
        ({**GOOD, "password": "short"}, "password", "This password is too short."),
        ({**GOOD, "password": "12345678901"}, "password", "This password is entirely numeric."),
        ({**GOOD, "password": "nina@example.test"}, "password", "too similar to the email"),
    ],
)
def test_it_shows_each_refusal_next_to_its_field_and_writes_nothing(
    world, client, body, field, message
):
    before = User.objects.count()
    response = client.post(URL, body)
    assert response.status_code == 400
    page = response.content.decode()
    assert f'id="id_{field}-errors"' in page and message in page
    assert f'aria-describedby="id_{field}-help id_{field}-errors"' in page
    assert 'aria-invalid="true"' in page
    assert User.objects.count() == before
    assert "_auth_user_id" not in client.session
    if field != "password":
        assert 'value="a-long-passphrase"' not in page  # a password is never sent back


def test_it_limits_sign_ups_per_address_with_the_apis_count(db, client, api, settings):
    settings.REGISTER_RATE = "2/hour"
    api().post("/api/v1/auth/register/", {**GOOD, "username": "first", "email": "f@example.test"})
    client.post(URL, {**GOOD, "password": "short"})  # refused, but counted
    refused = client.post(URL, GOOD)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "3600"
    assert "Too many sign-ups from this address. Try again in 3600 seconds." in (
        refused.content.decode()
    )
    assert not User.objects.filter(username="nina").exists()


def test_a_logged_in_person_is_sent_home(world, client):
    client.force_login(world.member)
    assert client.get(URL)["Location"] == "/"
    assert client.post(URL, GOOD)["Location"] == "/"
    assert not User.objects.filter(username="nina").exists()


def test_home_without_organizations_offers_to_create_one(db, client):
    client.force_login(User.objects.create_user("nina", "nina@example.test", PASSWORD))
    page = client.get("/").content.decode()
    assert '<a href="/orgs/new/">Create an organization</a>' in page


def _create_org(request):  # pragma: no cover - only reversed
    raise AssertionError


# The organization helper's route (issue 14 item 2), as it will be merged.
urlpatterns = [
    path("orgs/new/", _create_org, name="org-create"),
    path("", include("okrplan.urls")),
]


@pytest.mark.urls(__name__)
def test_home_without_organizations_links_to_creating_one_where_the_route_exists(db, client):
    client.force_login(User.objects.create_user("nina", "nina@example.test", PASSWORD))
    page = client.get("/").content.decode()
    assert '<a href="/orgs/new/">Create an organization</a>' in page
    assert 'href="/api/docs/"' not in page
